//===- CpuArtifact.cpp - Native CPU artifacts, cached ---------------------===//

#include "megalodon/Target/CPU/CpuArtifact.h"

#include "EntryPoints.h"
#include "ObjectEmitter.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Model/ModelBuilder.h"
#include "megalodon/Pipelines/Pipelines.h"
#include "megalodon/Transforms/Passes.h"
#include "megalodon/runtime/KernelCosts.h"
#include "megalodon/runtime/Manifest.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace megalodon {

std::string cudaToolkit() {
  static std::string toolkit = [] {
    llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas");
    if (!ptxas)
      return std::string();
    llvm::SmallString<256> dir(*ptxas);
    llvm::sys::path::remove_filename(dir); // .../bin
    llvm::sys::path::remove_filename(dir);
    return dir.str().str();
  }();
  return toolkit;
}

namespace {
/// The pipeline options an artifact is built with; part of its key.
std::string pipelineDescription(const CpuCompileOptions &options) {
  std::string extra =
      options.pipelineOptions.empty() ? "" : " " + options.pipelineOptions;
  if (options.backend == "cuda")
    return "megalodon-gpu-pipeline{chip=" + options.gpuChip +
           " cuda-toolkit=" + cudaToolkit() + extra + "}";
  if (options.backend == "gpu-emulation")
    return "megalodon-gpu-pipeline{emulate=1" + extra + "}";
  return std::string("megalodon-cpu-pipeline{fuse-elementwise=1,tile=") +
         (options.tile ? "1" : "0") + extra + "}";
}

std::string describeTarget(const HostTarget &target) {
  return target.triple + ";" + target.cpu + ";" + target.features;
}

HostTarget targetOf(const CpuCompileOptions &options) {
  return options.backend == "cuda" ? portableHostTarget() : detectHostTarget();
}

/// Identifies the compiler: a hash of the running executable, which links
/// every pass, so that a rebuilt compiler never reuses stale artifacts.
std::string compilerIdentity() {
  static std::string identity = [] {
    static int anchor;
    std::string exe = llvm::sys::fs::getMainExecutable(nullptr, &anchor);
    auto buffer = llvm::MemoryBuffer::getFile(exe);
    if (!buffer)
      return std::string("unknown-compiler");
    return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(
        (*buffer)->getBuffer())));
  }();
  return identity;
}

std::string artifactKey(ModuleOp module, const CpuCompileOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().enableDebugInfo(false));
  // Named locals: the strings must outlive the loop over their views.
  std::string compiler = compilerIdentity();
  std::string target = describeTarget(targetOf(options));
  std::string pipeline = pipelineDescription(options);
  llvm::SHA256 hash;
  for (llvm::StringRef part : {llvm::StringRef(text),
                               llvm::StringRef(pipeline),
                               llvm::StringRef(compiler),
                               llvm::StringRef(target)}) {
    hash.update(part);
    hash.update(llvm::ArrayRef<uint8_t>{0});
  }
  return llvm::toHex(hash.final()).substr(0, 32);
}

bool isCachedArtifact(const std::string &dir, const std::string &key) {
  rt::Manifest manifest;
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, rt::kManifestFileName);
  return llvm::sys::fs::exists(path) &&
         rt::readManifest(path.str().str(), manifest).ok() &&
         manifest.key == key;
}

llvm::Error lowerAndEmit(ModuleOp module,
                         const std::vector<rt::EntryPoint> &entries,
                         llvm::StringRef library,
                         const CpuCompileOptions &compileOptions) {
  OwningOpRef<ModuleOp> clone(module.clone());
  ::megalodon::requestCInterfaces(*clone);
  PassManager pm(module.getContext());
  bool gpuPipeline = compileOptions.backend != "cpu";
  if (gpuPipeline) {
    mlir::megalodon::GpuPipelineOptions options;
    if (failed(options.parseFromString(compileOptions.pipelineOptions)))
      return llvm::createStringError("invalid GPU pipeline options '" +
                                     compileOptions.pipelineOptions + "'");
    options.chip = compileOptions.gpuChip;
    options.emulate = compileOptions.backend == "gpu-emulation";
    if (!options.emulate)
      options.cudaToolkit = cudaToolkit();
    mlir::megalodon::buildGpuPipeline(pm, options);
  } else {
    mlir::megalodon::CpuPipelineOptions options;
    if (failed(options.parseFromString(compileOptions.pipelineOptions)))
      return llvm::createStringError("invalid CPU pipeline options '" +
                                     compileOptions.pipelineOptions + "'");
    options.tile = compileOptions.tile;
    mlir::megalodon::buildCpuPipeline(pm, options);
  }
  if (failed(pm.run(*clone)))
    return llvm::createStringError(
        std::string("the ") + (gpuPipeline ? "GPU" : "CPU") +
        " pipeline failed (see the diagnostics above)");
  if (auto costs = (*clone)->getAttrOfType<DictionaryAttr>(
          mlir::megalodon::kKernelCostsAttrName)) {
    rt::KernelCosts list;
    for (NamedAttribute entry : costs) {
      ArrayRef<int64_t> pair =
          cast<DenseI64ArrayAttr>(entry.getValue()).asArrayRef();
      list[entry.getName().str()] = {pair[0], pair[1]};
    }
    llvm::SmallString<256> path = llvm::sys::path::parent_path(library);
    llvm::sys::path::append(path, rt::kKernelCostsFileName);
    if (rt::Status s = rt::writeKernelCosts(path.str().str(), list); !s)
      return llvm::createStringError(s.message());
  }
  if (llvm::Error err = ::megalodon::addPackedEntryPoints(*clone, entries))
    return err;
  return ::megalodon::emitSharedLibrary(*clone, library,
                                        targetOf(compileOptions));
}
} // namespace

std::string hostTargetDescription() {
  return describeTarget(detectHostTarget());
}

std::string defaultTuningDatabasePath(const std::string &cacheDir) {
  if (auto path = llvm::sys::Process::GetEnv("MEGALODON_TUNING_DB"))
    return *path;
  llvm::SmallString<256> path(cacheDir.empty() ? defaultArtifactCacheDir()
                                               : cacheDir);
  llvm::sys::path::append(path, "tuning.json");
  return path.str().str();
}

std::string defaultArtifactCacheDir() {
  if (auto dir = llvm::sys::Process::GetEnv("MEGALODON_CACHE_DIR"))
    return *dir;
  llvm::SmallString<256> path;
  if (auto xdg = llvm::sys::Process::GetEnv("XDG_CACHE_HOME"))
    path = *xdg;
  else if (!llvm::sys::path::home_directory(path))
    path = llvm::sys::path::get_separator() == "/" ? "/tmp" : ".";
  else
    llvm::sys::path::append(path, ".cache");
  llvm::sys::path::append(path, "megalodon");
  return path.str().str();
}

llvm::Expected<std::string>
compileCpuArtifact(ModuleOp module,
                              const CpuCompileOptions &options) {
  if (options.backend != "cpu" && options.backend != "cuda" &&
      options.backend != "gpu-emulation")
    return llvm::createStringError("unknown backend '" + options.backend +
                                   "' (cpu, cuda, gpu-emulation)");
  DialectRegistry registry;
  if (options.backend != "cpu")
    mlir::megalodon::registerGpuPipelineDialects(registry);
  else
    mlir::megalodon::registerCpuPipelineDialects(registry);
  module.getContext()->appendDialectRegistry(registry);

  auto entries = describeEntryPoints(module);
  if (!entries)
    return entries.takeError();
  // Tile configs are chosen before the key is computed, so that a new
  // tuning result makes a new artifact rather than reusing a stale one.
  OwningOpRef<ModuleOp> annotated(module.clone());
  if (options.tile && options.backend == "cpu") {
    PassManager select(module.getContext());
    mlir::megalodon::SelectTileConfigsOptions selectOptions;
    // The pipeline options that steer the choice (the pipeline's own select
    // pass then finds every config in place).
    mlir::megalodon::CpuPipelineOptions pipelineOptions;
    if (failed(pipelineOptions.parseFromString(options.pipelineOptions)))
      return llvm::createStringError("invalid CPU pipeline options '" +
                                     options.pipelineOptions + "'");
    selectOptions.cemaMatrixBlock = pipelineOptions.cemaMatrixBlock;
    if (options.useTuningDatabase)
      selectOptions.database =
          options.tuningDatabase.empty()
              ? defaultTuningDatabasePath(options.cacheDir)
              : options.tuningDatabase;
    select.addPass(mlir::megalodon::createSelectTileConfigs(selectOptions));
    if (failed(select.run(*annotated)))
      return llvm::createStringError("selecting tile configs failed");
  }
  module = *annotated;
  std::string key = artifactKey(module, options);
  llvm::SmallString<256> dir(options.cacheDir.empty() ? defaultArtifactCacheDir()
                                                      : options.cacheDir);
  llvm::sys::path::append(dir, "artifacts", key);
  std::string finalDir = dir.str().str();
  if (options.useCache && isCachedArtifact(finalDir, key))
    return finalDir;

  if (options.verbose)
    llvm::errs() << "compiling artifact " << key << "\n";
  // Build into a private directory, then publish it with one rename so that
  // readers (and concurrent compilers) never see a partial artifact.
  std::string staging =
      finalDir + ".tmp." + std::to_string(llvm::sys::Process::getProcessId());
  llvm::sys::fs::remove_directories(staging);
  if (std::error_code ec = llvm::sys::fs::create_directories(staging))
    return llvm::createStringError("cannot create " + staging + ": " +
                                   ec.message());
  auto fail = [&](llvm::Error err) -> llvm::Error {
    llvm::sys::fs::remove_directories(staging);
    return err;
  };

  llvm::SmallString<256> library(staging);
  llvm::sys::path::append(library, "model.so");
  if (llvm::Error err = lowerAndEmit(module, *entries, library, options))
    return fail(std::move(err));

  rt::Manifest manifest;
  manifest.library = "model.so";
  manifest.key = key;
  // Emulated kernels are host code.
  manifest.backend = options.backend == "cuda" ? "cuda" : "cpu";
  if (auto config = module->getAttrOfType<StringAttr>(kConfigAttr))
    manifest.configJson = config.str();
  manifest.entryPoints = std::move(*entries);
  llvm::SmallString<256> manifestPath(staging);
  llvm::sys::path::append(manifestPath, rt::kManifestFileName);
  rt::Status status = rt::writeManifest(manifestPath.str().str(), manifest);
  if (!status.ok())
    return fail(llvm::createStringError(status.message()));

  llvm::sys::fs::remove_directories(finalDir);
  if (std::error_code ec = llvm::sys::fs::rename(staging, finalDir)) {
    // Another process may have published the same key meanwhile.
    llvm::sys::fs::remove_directories(staging);
    if (isCachedArtifact(finalDir, key))
      return finalDir;
    return llvm::createStringError("cannot publish " + finalDir + ": " +
                                   ec.message());
  }
  return finalDir;
}

} // namespace megalodon
