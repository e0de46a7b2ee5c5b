//===- DefineLibdeviceFunctions.cpp - libdevice without the toolkit -------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_DEFINELIBDEVICEFUNCTIONS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
/// Builds the result of a libdevice function from its arguments.
using Body = Value (*)(OpBuilder &, Location, ValueRange);

Value intrinsic(OpBuilder &b, Location loc, StringRef name, ValueRange args) {
  return LLVM::CallIntrinsicOp::create(b, loc, args.front().getType(),
                                       b.getStringAttr(name), args)
      .getResult(0);
}

Value sqrt(OpBuilder &b, Location loc, ValueRange args) {
  return intrinsic(b, loc, "llvm.nvvm.sqrt.rn.f", args);
}

Value rsqrt(OpBuilder &b, Location loc, ValueRange args) {
  Value one = LLVM::ConstantOp::create(b, loc, b.getF32Type(),
                                       b.getF32FloatAttr(1.0f));
  return LLVM::FDivOp::create(b, loc, one, sqrt(b, loc, args));
}

Value floor(OpBuilder &b, Location loc, ValueRange args) {
  return intrinsic(b, loc, "llvm.nvvm.floor.f", args);
}

Value fma(OpBuilder &b, Location loc, ValueRange args) {
  return intrinsic(b, loc, "llvm.nvvm.fma.rn.f", args);
}

Value fabs(OpBuilder &b, Location loc, ValueRange args) {
  return intrinsic(b, loc, "llvm.nvvm.fabs.f", args);
}

struct Definition {
  StringRef name;
  unsigned arity;
  Body body;
};
constexpr Definition kDefinitions[] = {{"__nv_sqrtf", 1, sqrt},
                                       {"__nv_rsqrtf", 1, rsqrt},
                                       {"__nv_floorf", 1, floor},
                                       {"__nv_fmaf", 3, fma},
                                       {"__nv_fabsf", 1, fabs}};

struct DefineLibdeviceFunctionsPass
    : public mlir::megalodon::impl::DefineLibdeviceFunctionsBase<
          DefineLibdeviceFunctionsPass> {
  void runOnOperation() override {
    bool failed = false;
    for (auto func : getOperation().getOps<LLVM::LLVMFuncOp>()) {
      if (!func.isExternal() || !func.getName().starts_with("__nv_"))
        continue;
      const Definition *definition = nullptr;
      for (const Definition &candidate : kDefinitions)
        if (candidate.name == func.getName())
          definition = &candidate;
      LLVM::LLVMFunctionType type = func.getFunctionType();
      auto f32 = Float32Type::get(&getContext());
      bool allF32 = type.getReturnType() == f32 &&
                    llvm::all_of(type.getParams(),
                                 [&](Type t) { return t == f32; });
      if (!definition || !allF32 || type.getNumParams() != definition->arity) {
        func.emitError("libdevice function ")
            << func.getName()
            << " has no definition without the CUDA toolkit; approximate "
               "the math op that produced it before convert-gpu-to-nvvm";
        failed = true;
        continue;
      }
      OpBuilder builder(func.getContext());
      Block *entry = func.addEntryBlock(builder);
      builder.setInsertionPointToStart(entry);
      Value result =
          definition->body(builder, func.getLoc(), entry->getArguments());
      LLVM::ReturnOp::create(builder, func.getLoc(), result);
      // Defined here, so that LLVM inlines it into the kernels.
      func.setLinkage(LLVM::Linkage::Internal);
    }
    if (failed)
      signalPassFailure();
  }
};
} // namespace
