//===- Optimizer.cpp - Lowering of global_norm and adamw ------------------===//
//
// global_norm sums squares in f64: the norm decides the clipping of every
// gradient, and an f32 running sum over millions of elements would lose
// digits. Each tensor is viewed as [rows, lanes] and reduced over the rows
// into `lanes` independent partial sums first (a vectorizable, fixed-order
// reduction), then over the lanes; the tensors' totals are added in operand
// order, so the result does not depend on the thread count.
//
// adamw computes its step scalars (clip factor, bias corrections, step size)
// once, in f64 like torch's host-side arithmetic, and then updates all
// elements in one elementwise linalg.generic with three results. A
// non-finite gradient norm selects the old values instead (a skipped step).
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

/// Partial sums per tensor: enough lanes for a vector of f64s and several
/// independent accumulation chains.
constexpr int64_t kMaxLanes = 16;

Value f64Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(value));
}

/// sum of squares of the elements of `tensor` (static f32), as an f64 scalar.
Value sumOfSquares(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t n = type.getNumElements();
  int64_t lanes = kMaxLanes;
  while (n % lanes != 0)
    lanes /= 2;
  SmallVector<ReassociationIndices> all(1);
  for (int64_t d = 0; d < type.getRank(); ++d)
    all[0].push_back(d);
  Value flat = tensor;
  if (type.getRank() != 1)
    flat = type.getRank() == 0
               ? tensor::ExpandShapeOp::create(
                     b, loc, RankedTensorType::get({1}, b.getF32Type()), tensor,
                     SmallVector<ReassociationIndices>{})
                     .getResult()
               : tensor::CollapseShapeOp::create(b, loc, tensor, all)
                     .getResult();
  Value grid = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({n / lanes, lanes}, b.getF32Type()), flat,
      SmallVector<ReassociationIndices>{{0, 1}});

  MLIRContext *ctx = b.getContext();
  auto f64 = b.getF64Type();
  Value zero = f64Constant(b, loc, 0.0);
  Value partialInit = linalg::FillOp::create(
                          b, loc, zero,
                          tensor::EmptyOp::create(b, loc, {lanes}, f64).getResult())
                          .getResult(0);
  // Loops (lane, row): the lane is parallel, the rows are reduced in order.
  AffineMap gridMap = AffineMap::get(
      2, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(0, ctx)}, ctx);
  AffineMap laneMap = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  Value partial =
      linalg::GenericOp::create(
          b, loc, partialInit.getType(), grid, partialInit,
          ArrayRef<AffineMap>{gridMap, laneMap}, parallelThenReduction(1, 1),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value x = arith::ExtFOp::create(nb, l, f64, args[0]);
            Value sq = arith::MulFOp::create(nb, l, x, x);
            linalg::YieldOp::create(
                nb, l, ValueRange{arith::AddFOp::create(nb, l, args[1], sq)});
          })
          .getResult(0);
  Value totalInit = linalg::FillOp::create(
                        b, loc, zero,
                        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, f64)
                            .getResult())
                        .getResult(0);
  AffineMap scalarMap = AffineMap::get(1, 0, {}, ctx);
  Value total =
      linalg::GenericOp::create(
          b, loc, totalInit.getType(), partial, totalInit,
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(1, ctx),
                              scalarMap},
          parallelThenReduction(0, 1),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(
                nb, l,
                ValueRange{arith::AddFOp::create(nb, l, args[1], args[0])});
          })
          .getResult(0);
  return tensor::ExtractOp::create(b, loc, total, ValueRange{});
}

struct GlobalNormLowering : OpConversionPattern<GlobalNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(GlobalNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    for (Value t : adaptor.getTensors())
      if (failed(requireStaticF32(rewriter, op, t, "tensor")))
        return failure();
    Location loc = op.getLoc();
    Value sum = f64Constant(rewriter, loc, 0.0);
    for (Value t : adaptor.getTensors())
      sum = arith::AddFOp::create(rewriter, loc, sum,
                                  sumOfSquares(rewriter, loc, t));
    Value norm = arith::TruncFOp::create(
        rewriter, loc, rewriter.getF32Type(),
        math::SqrtOp::create(rewriter, loc, sum));
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(
        op, op.getNorm().getType(), ValueRange{norm});
    return success();
  }
};

struct AdamWLowering : OpConversionPattern<AdamWOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(AdamWOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getParam(), "param")))
      return failure();
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    auto f32 = b.getF32Type();
    auto f64 = b.getF64Type();
    auto toF64 = [&](Value scalarTensor) -> Value {
      Value v = tensor::ExtractOp::create(b, loc, scalarTensor, ValueRange{});
      return isa<IntegerType>(v.getType())
                 ? arith::SIToFPOp::create(b, loc, f64, v).getResult()
                 : arith::ExtFOp::create(b, loc, f64, v).getResult();
    };
    auto c = [&](double v) { return f64Constant(b, loc, v); };
    const double beta1 = op.getBeta1().convertToDouble();
    const double beta2 = op.getBeta2().convertToDouble();
    const double maxNorm = op.getMaxGradNorm().convertToDouble();

    // Step scalars, in f64.
    Value t = toF64(adaptor.getStep());
    Value lr = toF64(adaptor.getLr());
    Value one = c(1.0);
    Value norm = toF64(adaptor.getGradNorm());
    // |norm| < inf is false for NaN and for infinities.
    Value finite = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OLT, math::AbsFOp::create(b, loc, norm),
        c(std::numeric_limits<double>::infinity()));
    Value clip = one;
    if (maxNorm > 0.0) {
      // torch.nn.utils.clip_grad_norm_: min(1, max / (norm + 1e-6)).
      Value ratio = arith::DivFOp::create(
          b, loc, c(maxNorm), arith::AddFOp::create(b, loc, norm, c(1e-6)));
      clip = arith::MinimumFOp::create(b, loc, one, ratio);
    }
    auto correction = [&](double beta) -> Value {
      Value power = math::PowFOp::create(b, loc, c(beta), t);
      return arith::SubFOp::create(b, loc, one, power);
    };
    Value stepSize = arith::DivFOp::create(b, loc, lr, correction(beta1));
    Value invSqrtCorrection2 = arith::DivFOp::create(
        b, loc, one, math::SqrtOp::create(b, loc, correction(beta2)));
    Value decay = arith::SubFOp::create(
        b, loc, one,
        arith::MulFOp::create(b, loc, lr,
                              c(op.getWeightDecay().convertToDouble())));
    auto narrow = [&](Value v) -> Value {
      return arith::TruncFOp::create(b, loc, f32, v);
    };
    Value clip32 = narrow(clip), stepSize32 = narrow(stepSize),
          invSqrt32 = narrow(invSqrtCorrection2), decay32 = narrow(decay);

    // The elementwise update.
    auto type = cast<RankedTensorType>(op.getParam().getType());
    unsigned rank = type.getRank();
    SmallVector<AffineMap> maps(
        7, AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
    SmallVector<Value> outs(3,
                            createEmptyF32(b, loc, type.getShape()));
    SmallVector<Type> resultTypes(3, type);
    auto generic = linalg::GenericOp::create(
        b, loc, resultTypes,
        ValueRange{adaptor.getParam(), adaptor.getGrad(), adaptor.getExpAvg(),
                   adaptor.getExpAvgSq()},
        outs, maps, parallelThenReduction(rank),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          auto k = [&](double v) { return createF32Constant(nb, l, v); };
          Value g = arith::MulFOp::create(nb, l, clip32, args[1]);
          Value m = arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, k(beta1), args[2]),
              arith::MulFOp::create(nb, l, k(1.0 - beta1), g));
          Value gg = arith::MulFOp::create(nb, l, g, g);
          Value v = arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, k(beta2), args[3]),
              arith::MulFOp::create(nb, l, k(1.0 - beta2), gg));
          Value denom = arith::AddFOp::create(
              nb, l,
              arith::MulFOp::create(nb, l, math::SqrtOp::create(nb, l, v),
                                    invSqrt32),
              k(op.getEps().convertToDouble()));
          Value update = arith::DivFOp::create(
              nb, l, arith::MulFOp::create(nb, l, stepSize32, m), denom);
          Value p = arith::SubFOp::create(
              nb, l, arith::MulFOp::create(nb, l, args[0], decay32), update);
          auto keepIfSkipped = [&](Value updated, Value old) -> Value {
            return arith::SelectOp::create(nb, l, finite, updated, old);
          };
          linalg::YieldOp::create(nb, l,
                                  ValueRange{keepIfSkipped(p, args[0]),
                                             keepIfSkipped(m, args[2]),
                                             keepIfSkipped(v, args[3])});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void mlir::megalodon::populateOptimizerToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<GlobalNormLowering, AdamWLowering>(patterns.getContext());
}
