//===- ObjectEmitter.cpp - LLVM dialect to a shared library ---------------===//

#include "ObjectEmitter.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace megalodon {

HostTarget detectHostTarget() {
  HostTarget host;
  host.triple = llvm::sys::getProcessTriple();
  host.cpu = llvm::sys::getHostCPUName().str();
  llvm::SmallVector<std::string> features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.push_back((feature.second ? "+" : "-") + feature.first().str());
  llvm::sort(features);
  host.features = llvm::join(features, ",");
  return host;
}

namespace {
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createHostTargetMachine(const ::megalodon::HostTarget &host) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string error;
  llvm::Triple triple(host.triple);
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("no LLVM target for " + host.triple + ": " +
                                   error);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, host.cpu, host.features, llvm::TargetOptions(),
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return llvm::createStringError("cannot create a target machine for " +
                                   host.triple);
  return machine;
}

void optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // Model code is full of loops with small constant trip counts; LLVM's
  // unroller multiplies compile time (7x at O3 on the tiny model) for little
  // gain. Register-level unrolling belongs to the MLIR tiling passes, so it
  // is off here while vectorization and interleaving stay.
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  llvm::PassBuilder builder(&machine, tuning);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(module, mam);
}

/// Whether `module` calls into the OpenMP runtime (parallel loops).
bool usesOpenMP(const llvm::Module &module) {
  for (const llvm::Function &function : module.functions())
    if (function.isDeclaration() && function.getName().starts_with("__kmpc_"))
      return true;
  return false;
}

/// Links `object` into a shared library. Unresolved symbols (libm, malloc)
/// bind when the runtime loads the library into its process. Parallel code
/// links LLVM's OpenMP runtime from the LLVM install this compiler was built
/// against (its OpenMP lowering targets that runtime's ABI), with an rpath so
/// the library loads without LD_LIBRARY_PATH.
llvm::Error link(llvm::StringRef object, llvm::StringRef library,
                 bool openmp) {
  llvm::SmallVector<std::string> args;
  bool isLld = false;
  if (auto lld = llvm::sys::findProgramByName("ld.lld")) {
    args = {*lld, "-shared", "-o", library.str(), object.str()};
    isLld = true;
  } else if (auto cc = llvm::sys::findProgramByName("cc")) {
    args = {*cc, "-shared", "-o", library.str(), object.str()};
  } else {
    return llvm::createStringError(
        "no linker found: install lld (ld.lld) or a C compiler (cc)");
  }
  if (openmp) {
    std::string libDir = MEGALODON_LLVM_LIBRARY_DIR;
    args.push_back("-L" + libDir);
    args.push_back("-lomp");
    args.push_back(isLld ? "-rpath=" + libDir : "-Wl,-rpath," + libDir);
  }
  llvm::SmallVector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(args[0], argRefs, std::nullopt, {}, 0, 0,
                                     &error);
  if (rc != 0)
    return llvm::createStringError("linking " + library.str() + " with " +
                                   args[0] + " failed" +
                                   (error.empty() ? "" : ": " + error));
  return llvm::Error::success();
}
} // namespace

HostTarget portableHostTarget() {
  HostTarget target;
  target.triple = llvm::sys::getProcessTriple();
  llvm::Triple triple(target.triple);
  target.cpu = triple.getArch() == llvm::Triple::x86_64 ? "x86-64" : "generic";
  return target;
}

llvm::Error emitSharedLibrary(ModuleOp llvmDialectModule,
                              llvm::StringRef libraryPath,
                              const HostTarget &host) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  llvmDialectModule.getContext()->appendDialectRegistry(registry);

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> module =
      translateModuleToLLVMIR(llvmDialectModule, llvmContext, "megalodon");
  if (!module)
    return llvm::createStringError("translation to LLVM IR failed");

  auto machine = createHostTargetMachine(host);
  if (!machine)
    return machine.takeError();
  module->setDataLayout((*machine)->createDataLayout());
  module->setTargetTriple(llvm::Triple(host.triple));
  optimize(*module, **machine);

  std::string object = (libraryPath + ".o").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(object, ec, llvm::sys::fs::OF_None);
    if (ec)
      return llvm::createStringError("cannot write " + object + ": " +
                                     ec.message());
    llvm::legacy::PassManager codegen;
    if ((*machine)->addPassesToEmitFile(codegen, os, nullptr,
                                        llvm::CodeGenFileType::ObjectFile))
      return llvm::createStringError("the target cannot emit object files");
    codegen.run(*module);
  }
  llvm::Error linked = link(object, libraryPath, usesOpenMP(*module));
  llvm::sys::fs::remove(object);
  return linked;
}

} // namespace megalodon
