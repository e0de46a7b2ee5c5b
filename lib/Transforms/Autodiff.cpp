//===- Autodiff.cpp - Reverse-mode differentiation of loss functions ------===//
//
// For each named function `f` returning a 0-d loss, builds `f_grad`: the
// forward ops of `f` followed by their vector-Jacobian products in reverse
// order, returning the loss and its gradient with respect to every argument
// tagged `megalodon.param`. The VJP of each op comes from its
// DifferentiableOpInterface; this pass only orders them, seeds the loss with
// 1 and adds up the cotangents of values with several uses.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Transforms/Passes.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/Interfaces/DifferentiableOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_AUTODIFF
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;

namespace {

/// Argument attribute naming a parameter (set by the model builder), the
/// attribute naming carried state (arguments and the results that replace
/// them), the result attribute naming what a gradient belongs to, and the
/// name attribute of the cotangent arguments of returned state.
constexpr StringLiteral kParamAttr("megalodon.param");
constexpr StringLiteral kStateAttr("megalodon.state");
constexpr StringLiteral kGradAttr("megalodon.grad");
constexpr StringLiteral kInputAttr("megalodon.input");

/// Carried state whose element type is float or complex has a gradient (a
/// step count does not).
bool isDifferentiableState(Type type) {
  Type et = getElementTypeOrSelf(type);
  return isa<FloatType>(et) ||
         (isa<ComplexType>(et) &&
          isa<FloatType>(cast<ComplexType>(et).getElementType()));
}

/// The cotangents of the values of one function body. A value used by
/// several ops receives one cotangent per use; they are summed as they
/// arrive, so every value has at most one live cotangent.
class Cotangents {
public:
  Value lookup(Value v) const { return map.lookup(v); }

  /// Adds `cotangent` to that of `v`, with megalodon.add after the first.
  LogicalResult accumulate(OpBuilder &builder, Operation *user, Value v,
                           Value cotangent) {
    Value &slot = map[v];
    if (!slot) {
      slot = cotangent;
      return success();
    }
    // megalodon.add is defined on real tensors only; a complex value (a CEMA
    // state) is never used twice in the functions autodiff sees.
    if (isa<ComplexType>(getElementTypeOrSelf(v.getType())))
      return user->emitOpError()
             << "gives a second cotangent to a complex value, which "
                "megalodon.add cannot accumulate";
    slot = AddOp::create(builder, user->getLoc(), slot, cotangent);
    return success();
  }

private:
  DenseMap<Value, Value> map;
};

/// Appends the backward ops and the gradient results to `grad`, a copy of
/// the function to differentiate (see differentiate).
LogicalResult buildBackward(func::FuncOp grad);

/// Builds `<func>_grad` next to `func`; emits an error and fails when `func`
/// cannot be differentiated.
LogicalResult differentiate(func::FuncOp func) {
  if (func.isExternal() || !func.getBody().hasOneBlock())
    return func.emitOpError()
           << "cannot be differentiated: autodiff needs a body of one block";
  FunctionType type = func.getFunctionType();
  auto lossType = type.getNumResults() >= 1
                      ? dyn_cast<RankedTensorType>(type.getResult(0))
                      : RankedTensorType();
  if (!lossType || lossType.getRank() != 0 ||
      !isa<FloatType>(lossType.getElementType())) {
    InFlightDiagnostic diag = func.emitOpError()
                              << "cannot be differentiated: autodiff needs a "
                                 "first result that is a 0-d float tensor "
                                 "(the loss), got ";
    if (type.getNumResults() >= 1)
      diag << type.getResult(0);
    else
      diag << "no results";
    return diag;
  }
  for (unsigned i = 1, e = type.getNumResults(); i < e; ++i)
    if (!func.getResultAttr(i, kStateAttr))
      return func.emitOpError()
             << "cannot be differentiated: result #" << i
             << " is neither the loss nor carried state (megalodon.state)";
  std::string gradName = (func.getName() + "_grad").str();
  auto module = func->getParentOfType<ModuleOp>();
  if (SymbolTable::lookupSymbolIn(module, gradName))
    return func.emitOpError() << "cannot be differentiated: the module "
                                 "already has a symbol named '"
                              << gradName << "'";

  // The gradient function starts as a copy of the forward one (arguments,
  // their attributes and the body); the original stays as it is.
  OpBuilder builder(func);
  builder.setInsertionPointAfter(func);
  auto grad = cast<func::FuncOp>(builder.clone(*func));
  grad.setName(gradName);
  if (succeeded(buildBackward(grad)))
    return success();
  // Leave no half-built function behind.
  grad.erase();
  return failure();
}

LogicalResult buildBackward(func::FuncOp grad) {
  OpBuilder builder(grad.getContext());
  FunctionType type = grad.getFunctionType();
  auto lossType = cast<RankedTensorType>(type.getResult(0));
  Block &body = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());

  // Only values that depend on a parameter or on differentiable carried
  // state need cotangents; the rest (tokens, targets, step counts) would only
  // produce dead backward ops.
  SmallVector<BlockArgument> params, states;
  DenseSet<Value> active;
  for (BlockArgument arg : body.getArguments()) {
    if (grad.getArgAttr(arg.getArgNumber(), kParamAttr))
      params.push_back(arg);
    else if (grad.getArgAttr(arg.getArgNumber(), kStateAttr) &&
             isDifferentiableState(arg.getType()))
      states.push_back(arg);
    else
      continue;
    active.insert(arg);
  }
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator()) {
    forward.push_back(&op);
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return active.contains(v); }))
      active.insert(op.result_begin(), op.result_end());
  }

  // The backward ops go after all forward ops, in reverse order of the ops
  // they differentiate, seeded with d loss / d loss = 1.
  builder.setInsertionPoint(ret);
  Cotangents cotangents;
  Value loss = ret.getOperand(0);
  Value seed = arith::ConstantOp::create(
      builder, grad.getLoc(), lossType,
      DenseElementsAttr::get(
          lossType, builder.getFloatAttr(lossType.getElementType(), 1.0)));
  if (failed(cotangents.accumulate(builder, ret, loss, seed)))
    return failure();
  // Returned differentiable state is seeded with a cotangent argument: the
  // gradient that whoever continues from this state sends back.
  for (unsigned i = 1, e = ret.getNumOperands(); i < e; ++i) {
    Value result = ret.getOperand(i);
    if (!isDifferentiableState(result.getType()))
      continue;
    auto name = cast<StringAttr>(grad.getResultAttr(i, kStateAttr));
    unsigned index = grad.getNumArguments();
    if (failed(grad.insertArgument(
            index, result.getType(),
            builder.getDictionaryAttr(builder.getNamedAttr(
                kInputAttr,
                builder.getStringAttr("cotangent." + name.getValue()))),
            grad.getLoc())))
      return failure();
    if (active.contains(result) &&
        failed(cotangents.accumulate(builder, ret, result,
                                     body.getArgument(index))))
      return failure();
  }

  for (Operation *op : llvm::reverse(forward)) {
    if (op->getNumResults() == 0 || !active.contains(op->getResult(0)))
      continue;
    SmallVector<Value> resultCotangents;
    for (Value result : op->getResults())
      resultCotangents.push_back(cotangents.lookup(result));
    if (llvm::all_of(resultCotangents, [](Value v) { return !v; }))
      continue;
    auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable)
      return op->emitOpError()
             << "is not differentiable (it does not implement "
                "DifferentiableOpInterface) but lies between a parameter and "
                "the loss";
    FailureOr<SmallVector<Value>> operandCotangents =
        differentiable.buildVjp(builder, resultCotangents);
    if (failed(operandCotangents))
      return failure();
    if (operandCotangents->size() != op->getNumOperands())
      return op->emitOpError()
             << "built a VJP with " << operandCotangents->size()
             << " cotangents for " << op->getNumOperands() << " operands";
    for (auto [operand, cotangent] :
         llvm::zip_equal(op->getOpOperands(), *operandCotangents)) {
      Value value = operand.get();
      if (!cotangent || !active.contains(value))
        continue;
      if (cotangent.getType() != value.getType())
        return op->emitOpError()
               << "built a cotangent of type " << cotangent.getType()
               << " for operand #" << operand.getOperandNumber() << " of type "
               << value.getType();
      if (failed(cotangents.accumulate(builder, op, value, cotangent)))
        return failure();
    }
  }

  // Results: the loss, one gradient per parameter in argument order, then
  // one per differentiable state argument. Something the loss does not
  // depend on gets zeros. The returned state itself is dropped.
  SmallVector<Value> results = {loss};
  SmallVector<DictionaryAttr> resultAttrs;
  DictionaryAttr lossAttrs = grad.getResultAttrDict(0);
  resultAttrs.push_back(lossAttrs ? lossAttrs : builder.getDictionaryAttr({}));
  for (auto [arguments, attr] :
       {std::pair(ArrayRef(params), kParamAttr), {ArrayRef(states), kStateAttr}})
    for (BlockArgument arg : arguments) {
      Value g = cotangents.lookup(arg);
      if (!g)
        g = buildZeroCotangent(builder, grad.getLoc(), arg.getType());
      if (!g)
        return grad.emitOpError()
               << "has an argument of dynamic shape that the loss does not "
                  "depend on, whose zero gradient cannot be built";
      results.push_back(g);
      resultAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
          kGradAttr, grad.getArgAttr(arg.getArgNumber(), attr))));
    }
  func::ReturnOp::create(builder, ret.getLoc(), results);
  ret.erase();
  grad.setType(builder.getFunctionType(body.getArgumentTypes(),
                                       ValueRange(results).getTypes()));
  grad.setAllResultAttrs(resultAttrs);
  return success();
}

struct AutodiffPass : public mlir::megalodon::impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::string> names(functions.begin(), functions.end());
    if (names.empty())
      names.push_back("loss");
    for (const std::string &name : names) {
      auto func = module.lookupSymbol<func::FuncOp>(name);
      if (!func) {
        module.emitError() << "megalodon-autodiff: no function named '" << name
                           << "' to differentiate";
        return signalPassFailure();
      }
      if (failed(differentiate(func)))
        return signalPassFailure();
    }
  }
};

} // namespace
