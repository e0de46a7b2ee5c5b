//===- CpuArtifact.h - Native CPU artifacts ---------------------*- C++ -*-===//
//
// Compiles the public functions of a megalodon module through the CPU
// pipeline into an artifact directory: a shared library produced in-process
// by LLVM (object code, then a system linker), and manifest.json describing
// every entry point (argument order, names, kinds, dtypes and shapes) for the
// runtime. Artifacts are cached on disk under a key that hashes the IR, the
// pipeline options, the compiler binary and the target.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_TARGET_CPU_CPUARTIFACT_H
#define MEGALODON_TARGET_CPU_CPUARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace megalodon {

struct CpuCompileOptions {
  /// Where artifacts are cached; empty means defaultArtifactCacheDir().
  std::string cacheDir;
  /// Reuse a cached artifact with the same key (the key covers everything
  /// that determines the generated code).
  bool useCache = true;
  /// Continue after a cache miss silently or print "compiling ..." lines.
  bool verbose = false;
  /// Run the tile-config and tiling passes (the pipeline's `tile` option);
  /// off compiles the untiled lowerings, for comparisons.
  bool tile = true;
  /// Further options of the backend's pipeline in its textual form, e.g.
  /// "matmul-rows=12 matmul-row-block=96" (CpuPipelineOptions) or
  /// "cema-matrix-block=64" (GpuPipelineOptions, for the cuda and gpu-emulation
  /// backends); for experiments and benchmarks. Part of the cache key.
  std::string pipelineOptions;
  /// Tile configs from the tuning database where it has them (else the
  /// rules' defaults). Off: defaults only.
  bool useTuningDatabase = true;
  /// The database; empty means defaultTuningDatabasePath(cacheDir).
  std::string tuningDatabase;
  /// "cpu": the CPU pipeline, code for this host. "cuda": the GPU pipeline
  /// (kernels for `gpuChip`: a cubin, or PTX compiled by the driver when
  /// loaded; see cudaToolkit()) with host code for the baseline CPU; the
  /// runtime's CUDA backend runs it.
  /// "gpu-emulation": the GPU pipeline's kernels run as host loops, one
  /// thread per block, on this host (a check of kernel forming without a
  /// GPU; slow).
  std::string backend = "cpu";
  std::string gpuChip = "sm_90";
};

/// The CUDA toolkit whose ptxas is on PATH (the parent of ptxas's bin/), or
/// empty. With one, "cuda" artifacts embed cubins for their chip; without,
/// PTX that the driver compiles when it loads the artifact.
std::string cudaToolkit();

/// $MEGALODON_TUNING_DB, else tuning.json in `cacheDir` (or, when that is
/// empty, in defaultArtifactCacheDir()).
std::string defaultTuningDatabasePath(const std::string &cacheDir);

/// $MEGALODON_CACHE_DIR, else $XDG_CACHE_HOME/megalodon, else
/// ~/.cache/megalodon (artifacts live in its artifacts/ subdirectory).
std::string defaultArtifactCacheDir();

/// Compiles (or finds in the cache) the artifact of `module` and returns its
/// directory. `module` is not modified.
llvm::Expected<std::string> compileCpuArtifact(mlir::ModuleOp module,
                                               const CpuCompileOptions &options);

/// The target the artifact is built for: triple, CPU name and features.
std::string hostTargetDescription();

} // namespace megalodon

#endif // MEGALODON_TARGET_CPU_CPUARTIFACT_H
