//===- GpuPipeline.cpp - The NVIDIA GPU compilation pipeline --------------===//
//
// Shares stages 1 and 2 (megalodon -> linalg, bufferization) with the CPU
// pipeline, then forms kernels from the loop nests, outlines them into a
// gpu.module, lowers that through NVVM to PTX with LLVM's NVPTX backend and
// embeds the PTX (or, given a CUDA toolkit, the cubin ptxas makes of it) in
// the host module. The host code calls the mgpu* launch
// ABI (module load, launch, allocation) that runtime/src/CudaBackend.cpp
// implements over the CUDA driver API.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Pipelines/Pipelines.h"

#include "megalodon/Conversion/Passes.h"
#include "megalodon/Transforms/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ComplexToLLVM/ComplexToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void megalodon::registerGpuPipelineDialects(DialectRegistry &registry) {
  registerCpuPipelineDialects(registry);
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  // Conversion interfaces that gpu-to-llvm and convert-gpu-to-nvvm collect
  // from the dialects they meet.
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertComplexToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  NVVM::registerConvertGpuToNVVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  // PTX generation (the #nvvm.target serializer) and the embedding of the
  // binary plus its launches in the host module's LLVM IR.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

void megalodon::buildGpuPipeline(OpPassManager &pm,
                                 const GpuPipelineOptions &options) {
  // Stage 0: cema's two-level form. Blocks of time are independent
  // contractions (parallel loops over batch, block, step and channel) and
  // the state crosses blocks in a scan over the blocks alone, so a long
  // sequence is no longer one long chain of dependent steps. No other op
  // gets a tile config: the CPU's register tiles and vector kernels do not
  // apply here.
  if (options.cemaMatrixBlock > 0) {
    SelectTileConfigsOptions select;
    select.cemaMatrixBlock = options.cemaMatrixBlock;
    select.defaults = false;
    pm.addPass(createSelectTileConfigs(select));
    pm.addPass(createTileCema());
  }

  // Stage 1: megalodon -> tensor-level linalg / scf.
  pm.addPass(createConvertMegalodonToLinalg());
  // Tensor arith (the widening of parameters stored as bf16) -> linalg.
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.fuseElementwise)
    pm.addPass(createLinalgElementwiseOpFusionPass());
  if (options.tileMatmuls) {
    pm.addPass(createTileGpuMatmuls());
    pm.addPass(createCanonicalizerPass());
  }

  // Stage 2: bufferization, as on the CPU.
  buildBufferizationStage(pm);

  // Stage 3: parallel loops -> kernels -> gpu.module.
  pm.addPass(createExpandMemRefCopy());
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createCanonicalizerPass());
  // Sequential loops whose elements never meet (the scan over cema's
  // blocks) go inside their parallel loops: a thread per element.
  pm.addPass(createInterchangeElementwiseScans());
  MapLoopsToGpuOptions map;
  map.blockSize = options.emulate ? 1 : options.blockSize;
  pm.addPass(createMapLoopsToGpu(map));
  if (options.emulate) {
    pm.addPass(createEmulateGpuLaunches());
    pm.addPass(createCanonicalizerPass());
    buildLoweringToLLVMStage(pm, /*openmp=*/false);
    return;
  }
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createMergeGpuModules());
  pm.addNestedPass<gpu::GPUModuleOp>(createHintBlockKernelOccupancy());
  // Launch sizes fold to constants first, so that the costs are numbers.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createEstimateKernelCosts());
  if (!options.serialize)
    return;

  // Stage 4: kernels -> NVVM. No libdevice function may stay undefined: its
  // bitcode comes with the CUDA toolkit, which a build need not have (and
  // linking it where present would make the output depend on the machine).
  // Transcendentals become polynomials first; the few libdevice functions
  // convert-gpu-to-nvvm still calls (sqrt, rsqrt, floor, fma) get bodies
  // made of NVVM intrinsics.
  pm.addPass(createConvertComplexToStandardPass());
  ApproximateMathOptions approximate;
  approximate.ops = {"exp", "expm1", "tanh", "log", "log1p",
                     "log2", "sin", "cos", "erf", "atan", "atan2"};
  pm.addNestedPass<gpu::GPUModuleOp>(createApproximateMath(approximate));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = "+ptx" + options.ptxVersion;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(createDefineLibdeviceFunctions());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  // Stage 5: host code -> LLVM dialect with mgpu* calls, kernels -> PTX
  // (-> cubin).
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertComplexToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createScopeLaunchStack());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.cudaToolkit.empty() ? "isa" : "bin";
  binary.toolkitPath = options.cudaToolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createCanonicalizerPass());
}

void megalodon::registerGpuPipeline() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "megalodon-gpu-pipeline",
      "Compile megalodon IR to PTX kernels and LLVM-dialect host code",
      buildGpuPipeline);
}
