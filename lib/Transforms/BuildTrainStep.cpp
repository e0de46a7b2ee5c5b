//===- BuildTrainStep.cpp - Loss, gradients and an AdamW update -----------===//
//
// The training step is one function so that the whole step, update
// included, goes through the same fusion, tiling and code generation as the
// model: the runtime only feeds batches, the step number and the learning
// rate, and swaps the returned parameters and moments in. When gradients
// are summed across processes between the backward and the update, the
// update is its own function, @apply_gradients, built the same way.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Transforms/Passes.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_BUILDTRAINSTEP
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;

namespace {

constexpr StringLiteral kParamAttr("megalodon.param");
constexpr StringLiteral kStateAttr("megalodon.state");
constexpr StringLiteral kInputAttr("megalodon.input");
constexpr StringLiteral kTrainStep("train_step");
constexpr StringLiteral kApplyGradients("apply_gradients");

struct BuildTrainStepPass
    : public mlir::megalodon::impl::BuildTrainStepBase<BuildTrainStepPass> {
  using BuildTrainStepBase::BuildTrainStepBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string gradName = lossName + "_grad";
    auto gradFunc = module.lookupSymbol<func::FuncOp>(gradName);
    if (!gradFunc) {
      module.emitError() << "megalodon-build-train-step: no function named '"
                         << gradName << "' (run megalodon-autodiff first)";
      return signalPassFailure();
    }
    StringRef name = applyGradients ? kApplyGradients : kTrainStep;
    if (module.lookupSymbol(name)) {
      module.emitError() << "megalodon-build-train-step: the module already "
                            "has a symbol named '"
                         << name << "'";
      return signalPassFailure();
    }
    if (failed(applyGradients ? buildApplyGradients(gradFunc)
                              : buildTrainStep(gradFunc)))
      signalPassFailure();
  }

  DictionaryAttr named(OpBuilder &builder, StringRef attr, const Twine &name) {
    return builder.getDictionaryAttr(
        builder.getNamedAttr(attr, builder.getStringAttr(name)));
  }

  /// @train_step: a copy of the _grad function whose gradients feed the
  /// update, returning the loss first.
  LogicalResult buildTrainStep(func::FuncOp gradFunc) {
    OpBuilder builder(gradFunc);
    builder.setInsertionPointAfter(gradFunc);
    auto step = cast<func::FuncOp>(builder.clone(*gradFunc));
    step.setName(kTrainStep);
    Block &body = step.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());

    // The parameters and their gradients (results 1.. of the _grad
    // function, in parameter order).
    SmallVector<BlockArgument> params;
    for (BlockArgument arg : body.getArguments())
      if (step.getArgAttr(arg.getArgNumber(), kParamAttr))
        params.push_back(arg);
    if (ret.getNumOperands() != params.size() + 1)
      return gradFunc.emitOpError()
             << "returns " << ret.getNumOperands() << " values for "
             << params.size()
             << " parameters; expected the loss and one gradient each";
    SmallVector<Value> grads(ret.getOperands().drop_front());
    return appendUpdate(step, params, grads, ret.getOperand(0));
  }

  /// @apply_gradients: the parameters of the _grad function and one gradient
  /// argument each (`megalodon.input = "grad.<name>"`), then the update.
  LogicalResult buildApplyGradients(func::FuncOp gradFunc) {
    OpBuilder builder(gradFunc);
    builder.setInsertionPointAfter(gradFunc);
    SmallVector<Type> types;
    SmallVector<Attribute> paramNames;
    for (unsigned i = 0, e = gradFunc.getNumArguments(); i < e; ++i)
      if (Attribute name = gradFunc.getArgAttr(i, kParamAttr)) {
        types.push_back(gradFunc.getArgument(i).getType());
        paramNames.push_back(name);
      }
    SmallVector<Type> inputs(types);
    inputs.append(types);
    SmallVector<Attribute> argAttrs;
    for (Attribute name : paramNames)
      argAttrs.push_back(builder.getDictionaryAttr(
          builder.getNamedAttr(kParamAttr, name)));
    for (Attribute name : paramNames)
      argAttrs.push_back(named(builder, kInputAttr,
                               "grad." + cast<StringAttr>(name).getValue()));
    auto apply = func::FuncOp::create(builder, gradFunc.getLoc(),
                                      kApplyGradients,
                                      builder.getFunctionType(inputs, {}));
    apply.setAllArgAttrs(argAttrs);
    Block *body = apply.addEntryBlock();
    builder.setInsertionPointToStart(body);
    func::ReturnOp::create(builder, apply.getLoc(), ValueRange());
    SmallVector<BlockArgument> params(
        body->getArguments().take_front(types.size()));
    SmallVector<Value> grads(body->getArguments().drop_front(types.size()));
    return appendUpdate(apply, params, grads, Value());
  }

  /// Adds to `step` (whose body ends in a return) the AdamW moments, the
  /// step number and the learning rate as arguments, and replaces its
  /// results with the loss (when given), the global gradient norm before
  /// clipping, the updated parameters, the updated first moments and the
  /// updated second moments.
  LogicalResult appendUpdate(func::FuncOp step, ArrayRef<BlockArgument> params,
                             ArrayRef<Value> grads, Value loss) {
    MLIRContext *context = &getContext();
    OpBuilder builder(context);
    Block &body = step.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Location loc = step.getLoc();
    auto paramName = [&](BlockArgument p) {
      return cast<StringAttr>(step.getArgAttr(p.getArgNumber(), kParamAttr))
          .getValue();
    };

    // New arguments: the moments, then the step number and the rate.
    SmallVector<Value> firstMoments, secondMoments;
    for (const char *prefix : {"exp_avg.", "exp_avg_sq."})
      for (BlockArgument p : params) {
        unsigned index = step.getNumArguments();
        if (failed(step.insertArgument(
                index, p.getType(),
                named(builder, kStateAttr, prefix + paramName(p)), loc)))
          return failure();
        (StringRef(prefix) == "exp_avg." ? firstMoments : secondMoments)
            .push_back(body.getArgument(index));
      }
    auto scalarI64 = RankedTensorType::get({}, builder.getI64Type());
    auto scalarF32 = RankedTensorType::get({}, builder.getF32Type());
    if (failed(step.insertArgument(step.getNumArguments(), scalarI64,
                                   named(builder, kInputAttr, "step"), loc)) ||
        failed(step.insertArgument(step.getNumArguments(), scalarF32,
                                   named(builder, kInputAttr, "lr"), loc)))
      return failure();
    Value stepNumber = body.getArgument(body.getNumArguments() - 2);
    Value lr = body.getArgument(body.getNumArguments() - 1);

    // The update.
    builder.setInsertionPoint(ret);
    Value norm = GlobalNormOp::create(builder, loc, scalarF32, grads);
    SmallVector<Value> newParams, newFirst, newSecond;
    for (auto [i, p] : llvm::enumerate(params)) {
      auto update = AdamWOp::create(
          builder, loc, p.getType(), p.getType(), p.getType(), p, grads[i],
          firstMoments[i], secondMoments[i], stepNumber, lr, norm,
          builder.getF64FloatAttr(beta1), builder.getF64FloatAttr(beta2),
          builder.getF64FloatAttr(eps), builder.getF64FloatAttr(weightDecay),
          builder.getF64FloatAttr(maxGradNorm));
      newParams.push_back(update.getParamOut());
      newFirst.push_back(update.getExpAvgOut());
      newSecond.push_back(update.getExpAvgSqOut());
    }

    SmallVector<Value> results;
    SmallVector<Attribute> resultAttrs;
    if (loss) {
      results.push_back(loss);
      resultAttrs.push_back(named(builder, kInputAttr, "loss"));
    }
    results.push_back(norm);
    resultAttrs.push_back(named(builder, kInputAttr, "grad_norm"));
    for (auto [i, p] : llvm::enumerate(params)) {
      results.push_back(newParams[i]);
      resultAttrs.push_back(
          builder.getDictionaryAttr(builder.getNamedAttr(
              kParamAttr, step.getArgAttr(p.getArgNumber(), kParamAttr))));
    }
    for (auto [i, p] : llvm::enumerate(params)) {
      results.push_back(newFirst[i]);
      resultAttrs.push_back(
          named(builder, kStateAttr, "exp_avg." + paramName(p)));
    }
    for (auto [i, p] : llvm::enumerate(params)) {
      results.push_back(newSecond[i]);
      resultAttrs.push_back(
          named(builder, kStateAttr, "exp_avg_sq." + paramName(p)));
    }
    func::ReturnOp::create(builder, ret.getLoc(), results);
    ret.erase();
    step.setType(FunctionType::get(context, body.getArgumentTypes(),
                                   ValueRange(results).getTypes()));
    step.setAllResultAttrs(resultAttrs);
    return success();
  }
};

} // namespace
