//===- Pipelines.h - Named compilation pipelines ----------------*- C++ -*-===//
//
// The pipelines megalodon-opt and megalodon-run share, so that any
// compilation can be replayed and stopped at a named stage.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_PIPELINES_PIPELINES_H
#define MEGALODON_PIPELINES_PIPELINES_H

#include "megalodon/Interfaces/TunableOpInterface.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class DialectRegistry;
class OpPassManager;
} // namespace mlir

namespace mlir::megalodon {

/// Options of --megalodon-cpu-pipeline.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("Fuse producer/consumer elementwise linalg ops"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseEpilogues{
      *this, "fuse-epilogues",
      llvm::cl::desc("Fuse row-wise consumers of matmuls into the kernels' "
                     "row-block loops"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fusePrologues{
      *this, "fuse-prologues",
      llvm::cl::desc("Fuse the ops computing a matmul's A operand (when "
                     "nothing else reads it) into the kernel's row-block "
                     "loop (off: measured slower on the small model)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> graphRowBlock{
      *this, "graph-row-block",
      llvm::cl::desc("Tokens per block of megalodon-tile-graph-rows, which "
                     "cuts the chains of row-wise ops between the scans into "
                     "loops over blocks of tokens before lowering (0: off)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> graphRowParallel{
      *this, "graph-row-parallel",
      llvm::cl::desc("With graph-row-block: threads take whole blocks (the "
                     "ops inside a block run on one thread)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> cemaMatrixBlock{
      *this, "cema-matrix-block",
      llvm::cl::desc("Run every cema and cema_grad whose length this divides "
                     "in the block (matrix) form with blocks of this many "
                     "steps (0: the tile configs' choice)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> tile{
      *this, "tile",
      llvm::cl::desc("Give tunable ops tile configs for the host and run the "
                     "tiling passes that consume them (off: the untiled "
                     "lowerings)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Register-tiled vector kernels for matmuls and "
                     "vectorized elementwise/reduction generics"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> matmulRows{
      *this, "matmul-rows",
      llvm::cl::desc("Rows of the matmul register tile (0: from the target "
                     "facts, see matmulRegisterTile)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> matmulLanes{
      *this, "matmul-lanes",
      llvm::cl::desc("Columns (vector lanes) of the matmul register tile (0: "
                     "from the target facts)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> matmulRowBlock{
      *this, "matmul-row-block",
      llvm::cl::desc("Rows of A per cache block of a matmul (about; see "
                     "megalodon-tile-and-vectorize's mc): each block reads "
                     "all of B once, so taller blocks read it fewer times"),
      llvm::cl::init(192)};
  PassOptions::Option<int64_t> matmulDepthBlock{
      *this, "matmul-depth-block",
      llvm::cl::desc("Reduction steps per cache block of a matmul (0: from "
                     "the target facts, see matmulRegisterTile; -1: none)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> matmulKUnroll{
      *this, "matmul-k-unroll",
      llvm::cl::desc("Unroll factor of the matmul reduction loop"),
      llvm::cl::init(2)};
  PassOptions::Option<int64_t> vectorSize{
      *this, "vector-size",
      llvm::cl::desc("Lanes of the innermost tile of vectorized generics"),
      llvm::cl::init(16)};
  PassOptions::Option<bool> approximateMath{
      *this, "approximate-math",
      llvm::cl::desc("Polynomial approximations (a few ulp) of exp, tanh and "
                     "log in vectorized code instead of libm calls"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("Threads of the compiled code: 1 emits sequential code; "
                     "0 leaves the count to the OpenMP runtime "
                     "(OMP_NUM_THREADS, else all cores); N > 1 fixes it"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> lowerToLLVM{
      *this, "lower-to-llvm",
      llvm::cl::desc("Continue past bufferization to the LLVM dialect"),
      llvm::cl::init(true)};
};

/// The matmul register tile for `target`: two vectors of columns, and as
/// many rows as keep rows x 2 accumulators, the two B vectors and the
/// broadcast A value in registers ({14, 32} on AVX-512, {6, 16} on AVX2),
/// capped at the L1's ways (8 rows on an 8-way L1; see the definition).
/// Each k step loads 2 vectors of B and broadcasts one element of A per row
/// for 2 FMAs per row, so taller tiles need fewer loads per FMA; 12 or more
/// independent FMA chains cover two FMA units of 4 cycles' latency.
/// `depth`: the reduction steps per cache block, as many as keep the
/// depth x lanes part of a panel of B in half of L1 (the other half holds
/// the rows of A a tile reads and the tile of C), a multiple of 16.
struct MatmulRegisterTile {
  int64_t rows, lanes, depth;
};
MatmulRegisterTile matmulRegisterTile(const TargetFacts &target);

/// megalodon ops -> linalg/scf -> bufferized memrefs (results become
/// caller-provided out-parameters) -> loops -> LLVM dialect.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Bufferization shared by the pipelines: function boundaries get identity
/// layouts so the runtime can pass plain contiguous buffers, and results
/// become caller-allocated out-parameters (one calling convention for all
/// entry points), then deallocation.
void buildBufferizationStage(OpPassManager &pm);

/// The last stage of code for the host: bufferized loops (scf, memref,
/// vector, complex, math, and OpenMP regions when `openmp`) -> the LLVM
/// dialect.
void buildLoweringToLLVMStage(OpPassManager &pm, bool openmp);

/// Registers --megalodon-cpu-pipeline.
void registerCpuPipeline();

/// Dialects and external interface models the CPU pipeline needs.
void registerCpuPipelineDialects(DialectRegistry &registry);

/// Options of --megalodon-gpu-pipeline.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA GPU architecture (sm_80, sm_90)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> ptxVersion{
      *this, "ptx", llvm::cl::desc("PTX ISA version of the kernels"),
      llvm::cl::init("80")};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size", llvm::cl::desc("Threads per block of every kernel"),
      llvm::cl::init(256)};
  PassOptions::Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("Fuse producer/consumer elementwise linalg ops"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> cemaMatrixBlock{
      *this, "cema-matrix-block",
      llvm::cl::desc("As in the CPU pipeline, but on by default: cema and "
                     "cema_grad in the block (matrix) form with blocks of "
                     "this many steps where they divide the length, the "
                     "blocks in parallel and only the states entering them "
                     "scanned (0, or a length they do not divide: the "
                     "step-by-step recurrence)"),
      llvm::cl::init(32)};
  PassOptions::Option<bool> tileMatmuls{
      *this, "tile-matmuls",
      llvm::cl::desc("Matmuls as per-block C tiles over copied operand tiles "
                     "(megalodon-tile-gpu-matmuls; off: one thread per "
                     "output reading its whole row and column)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> cudaToolkit{
      *this, "cuda-toolkit",
      llvm::cl::desc("A CUDA toolkit directory whose bin/ptxas assembles the "
                     "kernels: the artifact embeds a cubin for the chip "
                     "instead of PTX, so loading it compiles nothing (empty: "
                     "PTX, which the driver compiles when it loads it)"),
      llvm::cl::init("")};
  PassOptions::Option<bool> emulate{
      *this, "emulate",
      llvm::cl::desc("Form the kernels with one thread per block, then run "
                     "them as host loops and lower everything for the CPU "
                     "(megalodon-emulate-gpu-launches): the kernel forming, "
                     "checkable without a GPU"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> serialize{
      *this, "serialize",
      llvm::cl::desc("Compile the kernels to PTX and lower the host code to "
                     "the LLVM dialect (off: stop at the outlined GPU "
                     "dialect, for inspection)"),
      llvm::cl::init(true)};
};

/// megalodon ops -> linalg -> bufferized memrefs -> parallel loops ->
/// kernels (megalodon-map-loops-to-gpu) -> outlined gpu.module -> NVVM ->
/// PTX embedded in the host module, whose launches call the mgpu* ABI that
/// the runtime implements.
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// Registers --megalodon-gpu-pipeline.
void registerGpuPipeline();

/// Dialects, interfaces and translations the GPU pipeline needs (a superset
/// of registerCpuPipelineDialects).
void registerGpuPipelineDialects(DialectRegistry &registry);

} // namespace mlir::megalodon

#endif // MEGALODON_PIPELINES_PIPELINES_H
