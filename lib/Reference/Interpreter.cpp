//===- Interpreter.cpp - fp64 reference interpreter -----------------------===//
//
// Walks the body of a func.func and evaluates each megalodon op with the
// reference kernels. Values live in fp64 (complex<double> for CEMA states,
// int64 for tokens and counts) regardless of the IR's storage types. The
// gradient ops have their rules in GradientRules.cpp.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Interpreter.h"

#include "GradientRules.h"
#include "OptimizerRules.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::megalodon;
namespace ref = ::megalodon::ref;
using ref::RefValue;
using ref::detail::shapeOf;

int64_t RefValue::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

RefValue RefValue::realTensor(std::vector<int64_t> shape,
                              std::vector<double> values) {
  RefValue v;
  v.kind = Kind::Real;
  v.shape = std::move(shape);
  v.real = std::move(values);
  return v;
}

RefValue RefValue::complexTensor(std::vector<int64_t> shape,
                                 std::vector<cdouble> values) {
  RefValue v;
  v.kind = Kind::Complex;
  v.shape = std::move(shape);
  v.complex = std::move(values);
  return v;
}

RefValue RefValue::integerTensor(std::vector<int64_t> shape,
                                 std::vector<int64_t> values) {
  RefValue v;
  v.kind = Kind::Integer;
  v.shape = std::move(shape);
  v.integer = std::move(values);
  return v;
}

namespace {

RefValue::Kind kindOf(Type type) {
  Type et = cast<RankedTensorType>(type).getElementType();
  if (isa<ComplexType>(et))
    return RefValue::Kind::Complex;
  if (isa<IntegerType>(et))
    return RefValue::Kind::Integer;
  return RefValue::Kind::Real;
}

/// Evaluates one function body; values are kept by SSA value.
class Evaluator : public ref::detail::ValueStore {
public:
  llvm::Error run(func::FuncOp func, std::vector<RefValue> args,
                  std::vector<RefValue> &results) {
    Block &body = func.getBody().front();
    if (args.size() != body.getNumArguments())
      return error(func, "expected " + std::to_string(body.getNumArguments()) +
                             " arguments, got " + std::to_string(args.size()));
    for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
      RefValue &v = args[i];
      if (v.shape != shapeOf(arg) || v.kind != kindOf(arg.getType()) ||
          !sizeConsistent(v))
        return error(func, "argument #" + std::to_string(i) +
                               " does not match its declared type");
      values[arg] = std::move(v);
    }
    for (Operation &op : body.without_terminator())
      if (llvm::Error err = evaluate(&op))
        return err;
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    for (Value v : ret.getOperands())
      results.push_back(values[v]);
    return llvm::Error::success();
  }

private:
  static bool sizeConsistent(const RefValue &v) {
    size_t n = static_cast<size_t>(v.numel());
    switch (v.kind) {
    case RefValue::Kind::Real:
      return v.real.size() == n;
    case RefValue::Kind::Complex:
      return v.complex.size() == n;
    case RefValue::Kind::Integer:
      return v.integer.size() == n;
    }
    return false;
  }

  llvm::Error evaluate(Operation *op) {
    return llvm::TypeSwitch<Operation *, llvm::Error>(op)
        .Case([&](EmbeddingOp o) { return embedding(o); })
        .Case([&](CrossEntropyOp o) { return crossEntropy(o); })
        .Case([&](TimestepNormOp o) { return timestepNorm(o); })
        .Case([&](RMSNormOp o) {
          auto [rows, width] = rowsAndWidth(o.getX());
          ref::rmsNorm(real(o.getX()), real(o.getWeight()), rows, width,
                       o.getNumGroups(), o.getEps().convertToDouble(),
                       defineReal(o.getResult()).real.data());
          return llvm::Error::success();
        })
        .Case([&](LayerNormOp o) {
          auto [rows, width] = rowsAndWidth(o.getX());
          ref::layerNorm(real(o.getX()), real(o.getWeight()),
                         real(o.getBias()), rows, width,
                         o.getEps().convertToDouble(),
                         defineReal(o.getResult()).real.data());
          return llvm::Error::success();
        })
        .Case([&](CemaOp o) { return cema(o); })
        .Case([&](LinearOp o) {
          auto [rows, in] = rowsAndWidth(o.getX());
          int64_t out = shapeOf(o.getWeight())[0];
          ref::linear(real(o.getX()), real(o.getWeight()), real(o.getBias()),
                      rows, in, out, defineReal(o.getResult()).real.data());
          return llvm::Error::success();
        })
        .Case([&](SiluOp o) {
          const RefValue &x = get(o.getX());
          ref::silu(x.real.data(), x.numel(),
                    defineReal(o.getResult()).real.data());
          return llvm::Error::success();
        })
        .Case([&](SwigluOp o) {
          return elementwise(o, o.getLhs(), o.getRhs(), [](double g, double u) {
            return g / (1.0 + std::exp(-g)) * u;
          });
        })
        .Case([&](AddOp o) {
          return elementwise(o, o.getLhs(), o.getRhs(),
                             [](double a, double b) { return a + b; });
        })
        .Case([&](MulOp o) {
          return elementwise(o, o.getLhs(), o.getRhs(),
                             [](double a, double b) { return a * b; });
        })
        .Case([&](ScaleChannelsOp o) {
          const RefValue &x = get(o.getX());
          const RefValue &s = get(o.getScale());
          RefValue &y = defineReal(o.getResult());
          int64_t w = s.numel();
          for (int64_t i = 0; i < x.numel(); ++i)
            y.real[i] = x.real[i] * s.real[i % w];
          return llvm::Error::success();
        })
        .Case([&](SharedQKOp o) { return sharedQK(o); })
        .Case([&](RotaryOp o) {
          std::vector<int64_t> s = shapeOf(o.getX());
          RefValue &y = defineReal(o.getResult());
          y.real = get(o.getX()).real;
          int64_t H = o.getNumHeads();
          int64_t offset = o.getOffset() ? scalar(get(o.getOffset())) : 0;
          ref::rotary(y.real.data(), s[0], s[1], H, s[2] / H,
                      o.getBase().convertToDouble(), offset, o.getChunkSize());
          return llvm::Error::success();
        })
        .Case([&](ChunkAttentionOp o) { return attention(o); })
        .Case([&](KVCacheUpdateOp o) { return cacheUpdate(o); })
        // Autodiff seeds the loss's cotangent and builds zero cotangents as
        // constants.
        .Case([&](arith::ConstantOp o) { return constant(o); })
        // Parameters stored as bf16 (BuildOptions::bf16Parameters).
        .Case([&](arith::ExtFOp o) { return widen(o); })
        .Case([&](GlobalNormOp o) {
          return ref::detail::evaluateGlobalNorm(o, *this);
        })
        .Case([&](AdamWOp o) { return ref::detail::evaluateAdamW(o, *this); })
        // Gradient ops, and the "no rule" error for unknown ops.
        .Default([&](Operation *other) {
          return ref::detail::evaluateGradient(other, *this);
        });
  }

  template <typename Fn>
  llvm::Error elementwise(Operation *op, Value lhs, Value rhs, Fn fn) {
    const RefValue &a = get(lhs), &b = get(rhs);
    RefValue &y = defineReal(op->getResult(0));
    for (int64_t i = 0; i < a.numel(); ++i)
      y.real[i] = fn(a.real[i], b.real[i]);
    return llvm::Error::success();
  }

  /// The source's values, each first rounded to its element type (the
  /// caller may pass unrounded values for a bf16 argument): exact, as every
  /// narrower float is a double.
  llvm::Error widen(arith::ExtFOp o) {
    auto sourceType = dyn_cast<RankedTensorType>(o.getIn().getType());
    if (!sourceType || kindOf(sourceType) != RefValue::Kind::Real)
      return error(o, "only real tensors are widened");
    const llvm::fltSemantics &semantics =
        cast<FloatType>(sourceType.getElementType()).getFloatSemantics();
    RefValue y = get(o.getIn());
    for (double &v : y.real) {
      APFloat value(v);
      bool lost = false;
      value.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
      value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      v = value.convertToDouble();
    }
    define(o.getResult(), std::move(y));
    return llvm::Error::success();
  }

  llvm::Error constant(arith::ConstantOp o) {
    auto dense = dyn_cast<DenseElementsAttr>(o.getValue());
    if (!dense || !isa<RankedTensorType>(o.getType()))
      return error(o, "only dense tensor constants are supported");
    std::vector<int64_t> shape = shapeOf(o.getResult());
    switch (kindOf(o.getType())) {
    case RefValue::Kind::Real: {
      std::vector<double> values;
      for (const APFloat &v : dense.getValues<APFloat>())
        values.push_back(v.convertToDouble());
      define(o.getResult(), RefValue::realTensor(shape, std::move(values)));
      break;
    }
    case RefValue::Kind::Complex: {
      std::vector<ref::cdouble> values;
      for (const std::complex<APFloat> &v :
           dense.getValues<std::complex<APFloat>>())
        values.emplace_back(v.real().convertToDouble(),
                            v.imag().convertToDouble());
      define(o.getResult(), RefValue::complexTensor(shape, std::move(values)));
      break;
    }
    case RefValue::Kind::Integer: {
      std::vector<int64_t> values;
      for (const APInt &v : dense.getValues<APInt>())
        values.push_back(v.getSExtValue());
      define(o.getResult(), RefValue::integerTensor(shape, std::move(values)));
      break;
    }
    }
    return llvm::Error::success();
  }

  llvm::Error embedding(EmbeddingOp o) {
    const RefValue &table = get(o.getTable());
    const RefValue &tokens = get(o.getTokens());
    int64_t V = table.shape[0], D = table.shape[1];
    for (int64_t i = 0; i < tokens.numel(); ++i)
      if (tokens.integer[i] < 0 || tokens.integer[i] >= V)
        return error(o, "token " + std::to_string(tokens.integer[i]) +
                            " at index " + std::to_string(i) +
                            " is outside the vocabulary [0, " +
                            std::to_string(V) + ")");
    RefValue &y = defineReal(o.getResult());
    ref::embedding(table.real.data(), tokens.integer.data(), tokens.numel(),
                   V, D, y.real.data());
    if (FloatAttr scale = o.getScaleAttr())
      for (double &v : y.real)
        v *= scale.getValueAsDouble();
    return llvm::Error::success();
  }

  llvm::Error crossEntropy(CrossEntropyOp o) {
    const RefValue &logits = get(o.getLogits());
    const RefValue &targets = get(o.getTargets());
    auto [rows, V] = rowsAndWidth(o.getLogits());
    for (int64_t i = 0; i < rows; ++i)
      if (targets.integer[i] < 0 || targets.integer[i] >= V)
        return error(o, "target " + std::to_string(targets.integer[i]) +
                            " at index " + std::to_string(i) +
                            " is outside [0, " + std::to_string(V) + ")");
    double loss = ref::crossEntropy(logits.real.data(), targets.integer.data(),
                                    rows, V);
    values[o.getResult()] = RefValue::realTensor({}, {loss});
    return llvm::Error::success();
  }

  llvm::Error timestepNorm(TimestepNormOp o) {
    std::vector<int64_t> s = shapeOf(o.getX());
    int64_t B = s[0], L = s[1], D = s[2], G = o.getNumGroups();
    ref::TsnState state = ref::TsnState::fresh(B, G);
    if (o.getCount()) {
      state.count = get(o.getCount()).integer;
      state.mean = get(o.getMean()).real;
      state.var = get(o.getVar()).real;
    }
    ref::timestepNorm(real(o.getX()), real(o.getWeight()), real(o.getBias()),
                      B, L, D, G, o.getEps().convertToDouble(), state,
                      defineReal(o.getY()).real.data());
    values[o.getCountOut()] = RefValue::integerTensor({B}, state.count);
    values[o.getMeanOut()] = RefValue::realTensor({B, G}, state.mean);
    values[o.getVarOut()] = RefValue::realTensor({B, G}, state.var);
    return llvm::Error::success();
  }

  llvm::Error cema(CemaOp o) {
    std::vector<int64_t> s = shapeOf(o.getX());
    int64_t B = s[0], L = s[1], D = s[2];
    int64_t N = shapeOf(o.getAlpha())[1];
    ref::CemaCoeffs coeffs = ref::cemaCoefficients(
        real(o.getAlpha()), real(o.getDelta()), real(o.getTheta()),
        real(o.getGamma()), real(o.getOmega()), D, N);
    std::vector<ref::cdouble> h(B * D * N, 0.0);
    if (o.getHx())
      h = get(o.getHx()).complex;
    ref::cemaRecurrence(real(o.getX()), coeffs, B, L, h.data(),
                        defineReal(o.getY()).real.data());
    values[o.getHLast()] = RefValue::complexTensor({B, D, N}, std::move(h));
    return llvm::Error::success();
  }

  llvm::Error sharedQK(SharedQKOp o) {
    const RefValue &z = get(o.getZ());
    const RefValue &gamma = get(o.getGamma()), &beta = get(o.getBeta());
    int64_t Z = z.shape[2];
    double scale = 1.0 / std::sqrt(static_cast<double>(Z / o.getNumHeads()));
    RefValue &q = defineReal(o.getQ());
    RefValue &k = defineReal(o.getK());
    for (int64_t i = 0; i < z.numel(); ++i) {
      int64_t j = i % Z;
      q.real[i] = z.real[i] * (gamma.real[j] + 1.0) * scale + beta.real[j];
      k.real[i] =
          z.real[i] * (gamma.real[Z + j] + 1.0) * scale + beta.real[Z + j];
    }
    return llvm::Error::success();
  }

  /// A cache length outside [0, C) cannot come from kv_cache_update.
  llvm::Error checkCacheLen(Operation *op, int64_t len, int64_t L, int64_t C) {
    if (len < 0 || len >= C)
      return error(op, "cache length " + std::to_string(len) +
                           " is outside [0, chunk_size " + std::to_string(C) +
                           ")");
    if (len > 0 && len + L > C)
      return error(op, "a call of " + std::to_string(L) + " tokens after " +
                           std::to_string(len) +
                           " cached ones crosses the chunk boundary " +
                           std::to_string(C));
    return llvm::Error::success();
  }

  llvm::Error attention(ChunkAttentionOp o) {
    std::vector<int64_t> qs = shapeOf(o.getQ()), vs = shapeOf(o.getV());
    int64_t B = qs[0], L = qs[1], H = o.getNumHeads(), C = o.getChunkSize();
    int64_t len = 0;
    if (o.getCacheLen()) {
      len = scalar(get(o.getCacheLen()));
      if (llvm::Error err = checkCacheLen(o, len, L, C))
        return err;
    }
    ref::chunkAttention(real(o.getQ()), real(o.getK()), real(o.getV()),
                        real(o.getKCache()), real(o.getVCache()), len, B, L, H,
                        qs[2] / H, vs[2] / H, C,
                        defineReal(o.getResult()).real.data());
    return llvm::Error::success();
  }

  llvm::Error cacheUpdate(KVCacheUpdateOp o) {
    std::vector<int64_t> ks = shapeOf(o.getK()), vs = shapeOf(o.getV());
    int64_t B = ks[0], L = ks[1], C = o.getChunkSize();
    int64_t len = scalar(get(o.getCacheLen()));
    if (llvm::Error err = checkCacheLen(o, len, L, C))
      return err;
    RefValue kc = get(o.getKCache()), vc = get(o.getVCache());
    int64_t newLen =
        ref::kvCacheUpdate(kc.real.data(), vc.real.data(), len, real(o.getK()),
                           real(o.getV()), B, L, ks[2], vs[2], C);
    values[o.getKCacheOut()] = std::move(kc);
    values[o.getVCacheOut()] = std::move(vc);
    values[o.getCacheLenOut()] = RefValue::integerTensor({}, {newLen});
    return llvm::Error::success();
  }
};

} // namespace

llvm::Expected<std::vector<RefValue>>
ref::interpret(func::FuncOp func, std::vector<RefValue> args) {
  std::vector<RefValue> results;
  Evaluator evaluator;
  if (llvm::Error err = evaluator.run(func, std::move(args), results))
    return std::move(err);
  return results;
}
