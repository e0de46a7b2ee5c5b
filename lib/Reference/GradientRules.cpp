//===- GradientRules.cpp - Reference rules of the gradient ops ------------===//
//
// Each gradient op is evaluated by the vector-Jacobian-product kernel of
// Gradients.h for its forward op; the few gradients without a kernel of their
// own (swiglu, scale_channels) are composed here from the elementwise
// formulas. Shapes were checked by the op verifiers, so the rules only read
// sizes off the types.
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/Reference/Gradients.h"
#include "megalodon/Reference/Kernels.h"

#include "llvm/ADT/TypeSwitch.h"

#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::megalodon;
namespace ref = ::megalodon::ref;
using ref::RefValue;
using ref::detail::shapeOf;
using ref::detail::ValueStore;

namespace {

/// The rules, written against the values of one evaluation.
class GradientRules {
public:
  explicit GradientRules(ValueStore &store) : s(store) {}

  llvm::Error evaluate(Operation *op) {
    return llvm::TypeSwitch<Operation *, llvm::Error>(op)
        .Case([&](EmbeddingGradOp o) { return embedding(o); })
        .Case([&](CrossEntropyGradOp o) { return crossEntropy(o); })
        .Case([&](TimestepNormGradOp o) { return timestepNorm(o); })
        .Case([&](RMSNormGradOp o) {
          auto [rows, width] = ValueStore::rowsAndWidth(o.getX());
          ref::rmsNormBackward(
              s.real(o.getX()), s.real(o.getWeight()), rows, width,
              o.getNumGroups(), o.getEps().convertToDouble(), s.real(o.getGy()),
              out(o.getGx()), o.getGWeight() ? out(o.getGWeight()) : nullptr);
          return llvm::Error::success();
        })
        .Case([&](LayerNormGradOp o) {
          auto [rows, width] = ValueStore::rowsAndWidth(o.getX());
          ref::layerNormBackward(s.real(o.getX()), s.real(o.getWeight()), rows,
                                 width, o.getEps().convertToDouble(),
                                 s.real(o.getGy()), out(o.getGx()),
                                 o.getGWeight() ? out(o.getGWeight()) : nullptr,
                                 o.getGBias() ? out(o.getGBias()) : nullptr);
          return llvm::Error::success();
        })
        .Case([&](CemaGradOp o) { return cema(o); })
        .Case([&](LinearGradOp o) {
          auto [rows, in] = ValueStore::rowsAndWidth(o.getX());
          int64_t outFeatures = shapeOf(o.getWeight())[0];
          ref::linearBackward(s.real(o.getX()), s.real(o.getWeight()), rows, in,
                              outFeatures, s.real(o.getGy()), out(o.getGx()),
                              out(o.getGWeight()), out(o.getGBias()));
          return llvm::Error::success();
        })
        .Case([&](SiluGradOp o) {
          ref::siluBackward(s.real(o.getX()), s.get(o.getX()).numel(),
                            s.real(o.getGy()), out(o.getGx()));
          return llvm::Error::success();
        })
        .Case([&](SwigluGradOp o) { return swiglu(o); })
        .Case([&](ScaleChannelsGradOp o) { return scaleChannels(o); })
        .Case([&](SharedQKGradOp o) {
          auto [rows, Z] = ValueStore::rowsAndWidth(o.getZ());
          ref::sharedQKBackward(s.real(o.getZ()), s.real(o.getGamma()), rows, Z,
                                o.getNumHeads(), s.real(o.getGq()),
                                s.real(o.getGk()), out(o.getGz()),
                                out(o.getGGamma()), out(o.getGBeta()));
          return llvm::Error::success();
        })
        .Case([&](RotaryGradOp o) {
          std::vector<int64_t> shape = shapeOf(o.getGy());
          RefValue &gx = s.defineReal(o.getGx());
          gx.real = s.get(o.getGy()).real;
          int64_t H = o.getNumHeads();
          int64_t offset =
              o.getOffset() ? ValueStore::scalar(s.get(o.getOffset())) : 0;
          ref::rotaryBackward(gx.real.data(), shape[0], shape[1], H,
                              shape[2] / H, o.getBase().convertToDouble(),
                              offset, o.getChunkSize());
          return llvm::Error::success();
        })
        .Case([&](ChunkAttentionGradOp o) {
          std::vector<int64_t> qs = shapeOf(o.getQ()), vs = shapeOf(o.getV());
          int64_t H = o.getNumHeads();
          ref::chunkAttentionBackward(s.real(o.getQ()), s.real(o.getK()),
                                      s.real(o.getV()), qs[0], qs[1], H,
                                      qs[2] / H, vs[2] / H, o.getChunkSize(),
                                      s.real(o.getGOut()), out(o.getGq()),
                                      out(o.getGk()), out(o.getGv()));
          return llvm::Error::success();
        })
        .Default([&](Operation *other) {
          return ValueStore::error(
              other, "the reference interpreter has no rule for this op");
        });
  }

private:
  ValueStore &s;

  /// Defines a real result and returns its data for a kernel to fill.
  double *out(Value result) { return s.defineReal(result).real.data(); }

  /// Token-like operands index rows; the kernels assume they are in range.
  llvm::Error checkIndices(Operation *op, const RefValue &indices,
                           int64_t limit, const char *what) {
    for (int64_t i = 0; i < indices.numel(); ++i)
      if (indices.integer[i] < 0 || indices.integer[i] >= limit)
        return ValueStore::error(
            op, std::string(what) + " " + std::to_string(indices.integer[i]) +
                    " at index " + std::to_string(i) + " is outside [0, " +
                    std::to_string(limit) + ")");
    return llvm::Error::success();
  }

  llvm::Error embedding(EmbeddingGradOp o) {
    std::vector<int64_t> table = shapeOf(o.getTable());
    const RefValue &tokens = s.get(o.getTokens());
    int64_t V = table[0], D = table[1];
    if (llvm::Error err = checkIndices(o, tokens, V, "token"))
      return err;
    RefValue &gTable = s.defineReal(o.getGTable());
    ref::embeddingBackward(tokens.integer.data(), tokens.numel(), V, D,
                           s.real(o.getGy()), gTable.real.data());
    // The forward multiplies every gathered row by the scale, so every
    // scattered row carries it too.
    if (FloatAttr scale = o.getScaleAttr())
      for (double &v : gTable.real)
        v *= scale.getValueAsDouble();
    return llvm::Error::success();
  }

  llvm::Error crossEntropy(CrossEntropyGradOp o) {
    auto [rows, V] = ValueStore::rowsAndWidth(o.getLogits());
    const RefValue &targets = s.get(o.getTargets());
    if (llvm::Error err = checkIndices(o, targets, V, "target"))
      return err;
    ref::crossEntropyBackward(s.real(o.getLogits()), targets.integer.data(),
                              rows, V, s.get(o.getGLoss()).real.at(0),
                              out(o.getGLogits()));
    return llvm::Error::success();
  }

  llvm::Error timestepNorm(TimestepNormGradOp o) {
    std::vector<int64_t> shape = shapeOf(o.getX());
    int64_t B = shape[0], L = shape[1], D = shape[2], G = o.getNumGroups();
    // The kernel takes the state the forward started from.
    ref::TsnState initial = ref::TsnState::fresh(B, G);
    if (o.getCount()) {
      initial.count = s.get(o.getCount()).integer;
      initial.mean = s.get(o.getMean()).real;
      initial.var = s.get(o.getVar()).real;
    }
    ref::timestepNormBackward(s.real(o.getX()), s.real(o.getWeight()), B, L, D,
                              G, o.getEps().convertToDouble(), initial,
                              s.real(o.getGy()), s.real(o.getGMeanOut()),
                              s.real(o.getGVarOut()), out(o.getGx()),
                              out(o.getGWeight()), out(o.getGBias()),
                              o.getGMean() ? out(o.getGMean()) : nullptr,
                              o.getGVar() ? out(o.getGVar()) : nullptr);
    return llvm::Error::success();
  }

  /// Complex data of an optional operand, or null when it is absent.
  const ref::cdouble *complex(Value v) {
    return v ? s.get(v).complex.data() : nullptr;
  }

  llvm::Error cema(CemaGradOp o) {
    std::vector<int64_t> shape = shapeOf(o.getX());
    int64_t B = shape[0], L = shape[1], D = shape[2];
    int64_t N = shapeOf(o.getAlpha())[1];
    // The scan covers every case: the kernel form of Gradients.h would only
    // serve the one without a state and without a last-state cotangent.
    std::vector<ref::cdouble> gHx;
    if (o.getGHx())
      gHx.assign(B * D * N, 0.0);
    ref::cemaBackwardScan(
        s.real(o.getX()), s.real(o.getAlpha()), s.real(o.getDelta()),
        s.real(o.getTheta()), s.real(o.getGamma()), s.real(o.getOmega()), B, L,
        D, N, complex(o.getHx()), s.real(o.getGy()), complex(o.getGHLast()),
        out(o.getGx()), out(o.getGAlpha()), out(o.getGDelta()),
        out(o.getGTheta()), out(o.getGGamma()), out(o.getGOmega()),
        o.getGHx() ? gHx.data() : nullptr);
    if (o.getGHx())
      s.define(o.getGHx(), RefValue::complexTensor({B, D, N}, std::move(gHx)));
    return llvm::Error::success();
  }

  llvm::Error swiglu(SwigluGradOp o) {
    const RefValue &gate = s.get(o.getGate()), &up = s.get(o.getUp());
    const RefValue &gy = s.get(o.getGy());
    int64_t n = gate.numel();
    // y = silu(gate) * up: the gate sees the cotangent gy * up through silu,
    // the up projection sees gy * silu(gate).
    std::vector<double> gyUp(n);
    for (int64_t i = 0; i < n; ++i)
      gyUp[i] = gy.real[i] * up.real[i];
    ref::siluBackward(gate.real.data(), n, gyUp.data(), out(o.getGGate()));
    double *gUp = out(o.getGUp());
    ref::silu(gate.real.data(), n, gUp);
    for (int64_t i = 0; i < n; ++i)
      gUp[i] *= gy.real[i];
    return llvm::Error::success();
  }

  llvm::Error scaleChannels(ScaleChannelsGradOp o) {
    const RefValue &x = s.get(o.getX()), &scale = s.get(o.getScale());
    const RefValue &gy = s.get(o.getGy());
    double *gx = out(o.getGx());
    double *gScale = out(o.getGScale());
    int64_t w = scale.numel();
    for (int64_t i = 0; i < x.numel(); ++i) {
      gx[i] = gy.real[i] * scale.real[i % w];
      gScale[i % w] += gy.real[i] * x.real[i];
    }
    return llvm::Error::success();
  }
};

} // namespace

llvm::Error ref::detail::evaluateGradient(Operation *op, ValueStore &store) {
  return GradientRules(store).evaluate(op);
}
