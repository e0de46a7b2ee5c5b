//===- CpuPipeline.cpp - The CPU compilation pipeline ---------------------===//

#include "megalodon/Pipelines/Pipelines.h"

#include "megalodon/Conversion/Passes.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <algorithm>

using namespace mlir;

void megalodon::registerCpuPipelineDialects(DialectRegistry &registry) {
  registry.insert<MegalodonDialect, affine::AffineDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, complex::ComplexDialect,
                  func::FuncDialect, linalg::LinalgDialect, LLVM::LLVMDialect,
                  math::MathDialect, memref::MemRefDialect,
                  omp::OpenMPDialect, scf::SCFDialect,
                  tensor::TensorDialect, ub::UBDialect,
                  vector::VectorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  vector::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerTilingInterfaceExternalModels(registry);
}

megalodon::MatmulRegisterTile
megalodon::matmulRegisterTile(const megalodon::TargetFacts &target) {
  int64_t vectors = 2;
  // As many rows as the registers hold next to the B vectors, but no more
  // than the L1 has ways: the kernel broadcasts A's rows in place, and rows
  // at a stride that is a multiple of 4 KiB (K = 1024 or 2048 floats) share
  // one L1 set, so more rows than ways evict each other at every k step. On
  // an 8-way L1 (Zen 4), 14 rows made the 8192x1024x1024 forward and input
  // gradient 1.5-1.6x slower than 8 rows (`megalodon-run bench --op linear
  // --shapes 8192x1024x1024 --pipeline-options matmul-rows=14`).
  int64_t rows = std::clamp<int64_t>(
      (target.vectorRegisters - vectors - 1) / vectors, 1, target.l1Ways);
  int64_t lanes = vectors * target.vectorLanes;
  int64_t depth =
      std::max<int64_t>(target.l1Bytes / 2 / (lanes * 4) / 16 * 16, 16);
  return {rows, lanes, depth};
}

void megalodon::buildBufferizationStage(OpPassManager &pm) {
  // Function boundaries get identity layouts so the
  // runtime can pass plain contiguous buffers, and results become
  // caller-allocated out-parameters (one calling convention for all entry
  // points).
  pm.addPass(createReadOnlyArguments());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addPass(createCanonicalizerPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  // The deallocation pipeline leaves buffers of scf.forall bodies alone.
  pm.addPass(createFreeParallelBuffers());
}

void megalodon::buildLoweringToLLVMStage(OpPassManager &pm, bool openmp) {
  pm.addPass(createForallToForLoopPass());
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Vectors: reductions into elementwise ops plus one horizontal reduction,
  // n-D transfers into unrolled 1-D ones (a loop would put allocas inside
  // loops), the rest straight to LLVM vector types.
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());
  VectorTransferToSCFOptions transfers;
  transfers.enableFullUnroll();
  pm.addPass(createConvertVectorToSCFPass(transfers));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertComplexToStandardPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  // Horizontal sums as trees instead of a chain of scalar adds.
  vectorToLLVM.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertComplexToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (openmp)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void megalodon::buildCpuPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options) {
  // Stage 0: optionally, row blocks across ops (before the tile configs:
  // they change the shapes those are chosen for). Then tile configs, chosen
  // by rule for the host where the input has none, checked, and consumed by
  // the tiling passes (ops they do not cover keep their default lowering in
  // stage 1).
  if (options.graphRowBlock > 0) {
    TileGraphRowsOptions rows;
    rows.rows = options.graphRowBlock;
    rows.parallel = options.graphRowParallel;
    pm.addPass(createTileGraphRows(rows));
  }
  if (options.tile) {
    SelectTileConfigsOptions select;
    select.threads = options.threads;
    select.cemaMatrixBlock = options.cemaMatrixBlock;
    pm.addPass(createSelectTileConfigs(select));
    VerifyTileConfigsOptions verify;
    verify.threads = options.threads;
    pm.addPass(createVerifyTileConfigs(verify));
    pm.addPass(createTileCema());
    pm.addPass(createTileAttention());
  }

  // Stage 1: megalodon -> tensor-level linalg / scf.
  pm.addPass(createConvertMegalodonToLinalg());
  // Tensor arith (the widening of parameters stored as bf16) -> linalg.
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Matmuls become vector kernels before elementwise fusion: fusion would
  // otherwise pull normalizations and activations into their inputs
  // (recomputed N times) and reshape them into rank-4/5 contractions.
  TileAndVectorizeOptions tiling;
  TargetFacts host = TargetFacts::host(options.threads);
  MatmulRegisterTile tile = matmulRegisterTile(host);
  tiling.mr = options.matmulRows > 0 ? options.matmulRows : tile.rows;
  tiling.nr = options.matmulLanes > 0 ? options.matmulLanes : tile.lanes;
  tiling.mc = options.matmulRowBlock;
  tiling.kc = options.matmulDepthBlock > 0    ? options.matmulDepthBlock
              : options.matmulDepthBlock == 0 ? tile.depth
                                              : 0;
  tiling.kUnroll = options.matmulKUnroll;
  tiling.threads = host.threads;
  tiling.vectorSize = options.vectorSize;
  bool parallel = options.threads != 1;
  if (options.vectorize) {
    TileAndVectorizeOptions matmuls = tiling;
    matmuls.elementwise = false;
    matmuls.parallel = parallel;
    matmuls.lhsRowSlices = options.fusePrologues;
    pm.addPass(createTileAndVectorize(matmuls));
  }
  if (options.fuseElementwise)
    pm.addPass(createLinalgElementwiseOpFusionPass());
  if (options.vectorize && options.fusePrologues)
    pm.addPass(createFuseMatmulPrologues());
  if (options.vectorize && options.fuseEpilogues)
    pm.addPass(createFuseMatmulEpilogues());
  if (options.vectorize) {
    TileAndVectorizeOptions generics = tiling;
    generics.matmul = false;
    generics.parallel = parallel;
    pm.addPass(createTileAndVectorize(generics));
    // exp/tanh/log as FMA polynomials: libm calls would scalarize them.
    if (options.approximateMath)
      pm.addPass(createApproximateMath());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  // Stage 2: bufferization.
  buildBufferizationStage(pm);
  if (!options.lowerToLLVM)
    return;

  // Stage 3: loops and the LLVM dialect. Copies become linalg loops so the
  // artifact needs no support library.
  pm.addPass(createExpandMemRefCopy());
  pm.addPass(createConvertLinalgToLoopsPass());
  if (parallel) {
    // scf.forall (row blocks of matmuls and generics, attention chunks) ->
    // scf.parallel -> OpenMP worksharing loops. The canonicalizer inlines the
    // memref.alloca_scope the conversion wraps around each body, which the
    // SCF-to-CF lowering cannot handle.
    pm.addPass(createForallToParallelLoopPass());
    ConvertSCFToOpenMPPassOptions openmp;
    openmp.numThreads = options.threads;
    pm.addPass(createConvertSCFToOpenMPPass(openmp));
    pm.addPass(createCanonicalizerPass());
  }
  buildLoweringToLLVMStage(pm, /*openmp=*/parallel);
}

void megalodon::registerCpuPipeline() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "megalodon-cpu-pipeline",
      "Compile megalodon IR to the LLVM dialect for the host CPU",
      buildCpuPipeline);
}
