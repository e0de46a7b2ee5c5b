//===- IndependentModelTest.cpp - Model IR against MODEL.md, independently ===//
//
// The model IR that the builder emits, run by the fp64 reference interpreter,
// must compute exactly the model of MODEL.md sections 3-6. The interpreter
// evaluates the IR with the reference kernels, so comparing it with those
// same kernels would prove little. This file therefore carries its own
// straight-line fp64 implementation of the whole model, written from the
// specification text and deliberately taking the other road wherever the
// specification offers two:
//
//  * timestep norm through the closed-form prefix sums of section 4 (the
//    kernels use the Welford update);
//  * CEMA through the explicit causal convolution sum with the kernel
//    k[j] = Re(sum_n gamma_n p_n q_n^j), q^j from std::pow (the interpreter
//    runs the recurrence).
//
// Nothing from megalodon/Reference/Kernels.h is called on the independent
// side; only the interpreter's entry point and the test utilities are used.
//
//===----------------------------------------------------------------------===//

#include "ModelTestUtils.h"

#include "megalodon/Model/Parameters.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/ErrorHandling.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

using Complex = std::complex<double>;

// M_PI is POSIX, not standard C++.
constexpr double kPi = 3.14159265358979323846;

//===----------------------------------------------------------------------===//
// Independent fp64 implementation of MODEL.md sections 3-6
//===----------------------------------------------------------------------===//

/// Activations as a [rows, width] matrix; row r holds position r % L of
/// batch row r / L, so [B, L, W] tensors map onto it without copying.
struct Matrix {
  int64_t rows = 0, width = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(int64_t rows, int64_t width)
      : rows(rows), width(width), data(rows * width, 0.0) {}
  double &at(int64_t r, int64_t i) { return data[r * width + i]; }
  double at(int64_t r, int64_t i) const { return data[r * width + i]; }
};

/// Batch size and positions per row of a call.
struct Extent {
  int64_t batch, len;
};

/// The model's tensors by state_dict name, converted to fp64 once.
class Weights {
public:
  explicit Weights(const rt::TensorMap &tensors) {
    for (const auto &entry : tensors)
      values[entry.first] = entry.second.toF64();
  }

  const std::vector<double> &get(const std::string &name) const {
    auto it = values.find(name);
    if (it == values.end())
      llvm::report_fatal_error(("missing weight " + name).c_str());
    return it->second;
  }

private:
  std::map<std::string, std::vector<double>> values;
};

double sigmoid(double u) { return 1.0 / (1.0 + std::exp(-u)); }
double silu(double u) { return u * sigmoid(u); }

Matrix add(const Matrix &a, const Matrix &b) {
  Matrix y = a;
  for (size_t i = 0; i < y.data.size(); ++i)
    y.data[i] += b.data[i];
  return y;
}

Matrix siluOf(Matrix x) {
  for (double &v : x.data)
    v = silu(v);
  return x;
}

/// Linear(x; W, b) = x W^T + b with W stored [out, in]; `bias` may be null.
Matrix linear(const Matrix &x, const std::vector<double> &weight,
              const std::vector<double> *bias) {
  int64_t out = static_cast<int64_t>(weight.size()) / x.width;
  Matrix y(x.rows, out);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = bias ? (*bias)[o] : 0.0;
      for (int64_t i = 0; i < x.width; ++i)
        sum += x.at(r, i) * weight[o * x.width + i];
      y.at(r, o) = sum;
    }
  return y;
}

/// x = embed.weight[tokens], times sqrt(D) with scale_emb.
Matrix embed(const ModelConfig &cfg, const Weights &w,
             const std::vector<int64_t> &tokens) {
  const std::vector<double> &table = w.get("embed.weight");
  int64_t D = cfg.model_dim;
  double scale = cfg.scale_emb ? std::sqrt(static_cast<double>(D)) : 1.0;
  Matrix x(static_cast<int64_t>(tokens.size()), D);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t j = 0; j < D; ++j)
      x.at(r, j) = table[tokens[r] * D + j] * scale;
  return x;
}

/// Timestep norm of a fresh sequence (section 4) through the closed form:
/// with n0 = 0 the prior drops out, so the statistics after step t are the
/// plain averages over steps 0..t of the per-step group mean mu and mean
/// square e: m_t = sum(mu)/(t+1), v_t = sum(e)/(t+1) - m_t^2.
Matrix timestepNorm(const ModelConfig &cfg, const Weights &w,
                    const std::string &prefix, const Matrix &x, Extent ext) {
  const std::vector<double> &weight = w.get(prefix + "weight");
  const std::vector<double> &bias = w.get(prefix + "bias");
  int64_t D = x.width, size = D / cfg.norm_num_groups;
  Matrix y(x.rows, D);
  for (int64_t b = 0; b < ext.batch; ++b)
    for (int64_t g = 0; g < cfg.norm_num_groups; ++g) {
      double sumMu = 0.0, sumE = 0.0;
      for (int64_t t = 0; t < ext.len; ++t) {
        int64_t r = b * ext.len + t;
        double mu = 0.0, e = 0.0;
        for (int64_t j = g * size; j < (g + 1) * size; ++j) {
          mu += x.at(r, j);
          e += x.at(r, j) * x.at(r, j);
        }
        sumMu += mu / size;
        sumE += e / size;
        double n = static_cast<double>(t + 1);
        double m = sumMu / n, v = sumE / n - m * m;
        double inv = 1.0 / std::sqrt(v + cfg.norm_eps);
        for (int64_t j = g * size; j < (g + 1) * size; ++j)
          y.at(r, j) = (x.at(r, j) - m) * inv * (weight[j] + 1.0) + bias[j];
      }
    }
  return y;
}

/// The CEMA kernel k[j] = Re(sum_n gamma_n p_n q_n^j), j < len, of channel d
/// (section 5), with q^j taken by std::pow rather than by repeated products.
std::vector<double> cemaKernel(const ModelConfig &cfg, const Weights &w,
                               const std::string &prefix, int64_t d,
                               int64_t len) {
  int64_t N = cfg.cema_ndim;
  const std::vector<double> &alpha = w.get(prefix + "alpha");
  const std::vector<double> &delta = w.get(prefix + "delta");
  const std::vector<double> &theta = w.get(prefix + "theta");
  const std::vector<double> &gamma = w.get(prefix + "gamma");
  // Shapes: alpha, delta [D,N,1]; theta [D,1,1]; gamma [D,N,2] (re, im).
  double baseAngle = sigmoid(theta[d]) * 2.0 * kPi / N;
  std::vector<double> k(len, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    int64_t i = d * N + n;
    double p = sigmoid(alpha[i]);
    double decay = sigmoid(delta[i]);
    // The wavelet index runs 1..N, so state n has angle (n + 1) * base.
    Complex q = std::polar(1.0 - p * decay, (n + 1) * baseAngle);
    Complex g = Complex(gamma[2 * i], gamma[2 * i + 1]) /
                std::sqrt(static_cast<double>(N));
    for (int64_t j = 0; j < len; ++j)
      k[j] += std::real(g * p * std::pow(q, static_cast<double>(j)));
  }
  return k;
}

/// CEMA of a fresh sequence as the unrolled convolution
/// y_t = sum_{j<=t} k[j] u_{t-j} + omega u_t, per batch row and channel.
Matrix cema(const ModelConfig &cfg, const Weights &w, const std::string &prefix,
            const Matrix &u, Extent ext) {
  const std::vector<double> &omega = w.get(prefix + "omega");
  Matrix y(u.rows, u.width);
  for (int64_t d = 0; d < u.width; ++d) {
    std::vector<double> k = cemaKernel(cfg, w, prefix, d, ext.len);
    for (int64_t b = 0; b < ext.batch; ++b)
      for (int64_t t = 0; t < ext.len; ++t) {
        int64_t r = b * ext.len + t;
        double sum = omega[d] * u.at(r, d);
        for (int64_t j = 0; j <= t; ++j)
          sum += k[j] * u.at(r - j, d);
        y.at(r, d) = sum;
      }
  }
  return y;
}

/// RMSNorm u / sqrt(mean(u^2) + eps) over each of `groups` contiguous slices
/// of a row, scaled by (weight + 1) when `weight` is given. One group is the
/// plain RMSNorm over D; H groups without weight is the per-head norm of z.
Matrix rmsNorm(const Matrix &x, int64_t groups,
               const std::vector<double> *weight, double eps) {
  int64_t size = x.width / groups;
  Matrix y(x.rows, x.width);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      double square = 0.0;
      for (int64_t j = g * size; j < (g + 1) * size; ++j)
        square += x.at(r, j) * x.at(r, j);
      double inv = 1.0 / std::sqrt(square / size + eps);
      for (int64_t j = g * size; j < (g + 1) * size; ++j)
        y.at(r, j) = x.at(r, j) * inv * (weight ? (*weight)[j] + 1.0 : 1.0);
    }
  return y;
}

/// LayerNorm with biased variance, eps inside the sqrt, and the affine
/// (weight + 1, bias) only when the weights exist.
Matrix layerNorm(const Matrix &x, const std::vector<double> *weight,
                 const std::vector<double> *bias, double eps) {
  Matrix y(x.rows, x.width);
  for (int64_t r = 0; r < x.rows; ++r) {
    double mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < x.width; ++j)
      mean += x.at(r, j);
    mean /= x.width;
    for (int64_t j = 0; j < x.width; ++j)
      var += (x.at(r, j) - mean) * (x.at(r, j) - mean);
    var /= x.width;
    double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < x.width; ++j)
      y.at(r, j) =
          (x.at(r, j) - mean) * inv * (weight ? (*weight)[j] + 1.0 : 1.0) +
          (bias ? (*bias)[j] : 0.0);
  }
  return y;
}

/// q or k: z * (gamma[row] + 1) / sqrt(dz) + beta[row], row 0 for q, 1 for k.
Matrix sharedProjection(const ModelConfig &cfg, const Weights &w,
                        const std::string &prefix, const Matrix &z,
                        int64_t row) {
  const std::vector<double> &gamma = w.get(prefix + "gamma");
  const std::vector<double> &beta = w.get(prefix + "beta");
  int64_t Z = cfg.z_dim;
  double invSqrt = 1.0 / std::sqrt(static_cast<double>(cfg.headQKDim()));
  Matrix y(z.rows, Z);
  for (int64_t r = 0; r < z.rows; ++r)
    for (int64_t j = 0; j < Z; ++j)
      y.at(r, j) =
          z.at(r, j) * (gamma[row * Z + j] + 1.0) * invSqrt + beta[row * Z + j];
  return y;
}

/// RoPE on adjacent pairs (x[2j], x[2j+1]) of each head vector, rotated by
/// pos * base^(-2j/dz); positions restart at 0 in every chunk.
void applyRope(const ModelConfig &cfg, Matrix &x, Extent ext) {
  int64_t dz = cfg.headQKDim();
  for (int64_t r = 0; r < x.rows; ++r) {
    double pos = static_cast<double>((r % ext.len) % cfg.chunk_size);
    for (int64_t h = 0; h < cfg.num_heads; ++h)
      for (int64_t j = 0; j < dz / 2; ++j) {
        double freq =
            std::pow(cfg.rope_base, -2.0 * j / static_cast<double>(dz));
        double &re = x.at(r, h * dz + 2 * j), &im = x.at(r, h * dz + 2 * j + 1);
        Complex rotated = Complex(re, im) * std::polar(1.0, pos * freq);
        re = rotated.real();
        im = rotated.imag();
      }
  }
}

/// Causal softmax attention inside independent chunks (one chunk when
/// L < C), no 1/sqrt(dz) factor, heads side by side.
Matrix chunkAttention(const ModelConfig &cfg, const Matrix &q, const Matrix &k,
                      const Matrix &v, Extent ext) {
  int64_t H = cfg.num_heads, dz = cfg.headQKDim(), dv = cfg.headValueDim();
  int64_t chunk = std::min(ext.len, cfg.chunk_size);
  Matrix out(v.rows, v.width);
  for (int64_t b = 0; b < ext.batch; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < ext.len; ++t) {
        int64_t first = t - t % chunk;
        int64_t rq = b * ext.len + t;
        std::vector<double> score;
        for (int64_t s = first; s <= t; ++s) {
          double dot = 0.0;
          for (int64_t i = 0; i < dz; ++i)
            dot += q.at(rq, h * dz + i) * k.at(b * ext.len + s, h * dz + i);
          score.push_back(dot);
        }
        double top = *std::max_element(score.begin(), score.end());
        double total = 0.0;
        for (double &s : score)
          total += (s = std::exp(s - top));
        for (int64_t s = first; s <= t; ++s)
          for (int64_t i = 0; i < dv; ++i)
            out.at(rq, h * dv + i) +=
                score[s - first] / total * v.at(b * ext.len + s, h * dv + i);
      }
  return out;
}

/// Intermediate activations of one layer, for the hand-checked case.
struct LayerTrace {
  Matrix xn, c, mx, v, a;
};

/// MEGA_l(x) = x + h (section 3).
Matrix megaBlock(const ModelConfig &cfg, const Weights &w, const std::string &p,
                 const Matrix &x, Extent ext, LayerTrace *trace) {
  Matrix xn = timestepNorm(cfg, w, p + "timenorm.", x, ext);
  Matrix c = cema(cfg, w, p + "cema.", xn, ext);
  Matrix mx =
      rmsNorm(c, 1, cfg.norm_affine ? &w.get(p + "rmsnorm.weight") : nullptr,
              cfg.norm_eps);
  Matrix z = linear(mx, w.get(p + "wz.weight"), &w.get(p + "wz.bias"));
  z = rmsNorm(z, cfg.num_heads, nullptr, cfg.norm_eps);
  Matrix q = sharedProjection(cfg, w, p, z, 0);
  Matrix k = sharedProjection(cfg, w, p, z, 1);
  // The value path reads the timestep-norm output, not mx.
  Matrix v = siluOf(linear(xn, w.get(p + "wv.weight"), &w.get(p + "wv.bias")));
  Matrix r = siluOf(linear(mx, w.get(p + "wr.weight"), &w.get(p + "wr.bias")));
  applyRope(cfg, q, ext);
  applyRope(cfg, k, ext);
  Matrix a = chunkAttention(cfg, q, k, v, ext);
  Matrix gated = a;
  for (size_t i = 0; i < gated.data.size(); ++i)
    gated.data[i] *= r.data[i];
  Matrix h = add(linear(mx, w.get(p + "wh1.weight"), &w.get(p + "wh1.bias")),
                 linear(gated, w.get(p + "wh2.weight"), nullptr));
  if (trace)
    *trace = LayerTrace{xn, c, mx, v, a};
  return add(x, h);
}

/// FFN_l(y) (section 3): LayerNorm, silu or swiglu, fc2, optional rescale.
Matrix feedForward(const ModelConfig &cfg, const Weights &w,
                   const std::string &p, const Matrix &y) {
  Matrix t = layerNorm(y, cfg.norm_affine ? &w.get(p + "norm.weight") : nullptr,
                       cfg.norm_affine ? &w.get(p + "norm.bias") : nullptr,
                       cfg.norm_eps);
  Matrix u = siluOf(linear(t, w.get(p + "fc1.weight"), nullptr));
  if (cfg.swiglu) {
    Matrix gate = linear(t, w.get(p + "fc3.weight"), nullptr);
    for (size_t i = 0; i < u.data.size(); ++i)
      u.data[i] *= gate.data[i];
  }
  Matrix o = linear(u, w.get(p + "fc2.weight"), nullptr);
  if (cfg.rescale_nffn) {
    const std::vector<double> &alpha = w.get(p + "alpha");
    for (int64_t r = 0; r < o.rows; ++r)
      for (int64_t j = 0; j < o.width; ++j)
        o.at(r, j) *= alpha[j];
  }
  return o;
}

/// Logits [B*L, V] of the whole model; fills `trace` (one entry per layer)
/// when given.
Matrix independentLogits(const ModelConfig &cfg, const Weights &w,
                         const std::vector<int64_t> &tokens, Extent ext,
                         std::vector<LayerTrace> *trace = nullptr) {
  Matrix x = embed(cfg, w, tokens);
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    LayerTrace layer;
    Matrix y = megaBlock(cfg, w, p + "mega.", x, ext, &layer);
    // Two-hop residual: the FFN output goes onto the block input x, not y.
    x = add(x, feedForward(cfg, w, p + "nffn.", y));
    if (trace)
      trace->push_back(std::move(layer));
  }
  Matrix z = timestepNorm(cfg, w, "output.final_norm.", x, ext);
  return linear(z,
                w.get(cfg.share_emb ? "embed.weight" : "output.output.weight"),
                nullptr);
}

/// Mean over rows of -log softmax(logits[r])[targets[r]], via log-sum-exp.
double meanCrossEntropy(const Matrix &logits,
                        const std::vector<int64_t> &targets) {
  double total = 0.0;
  for (int64_t r = 0; r < logits.rows; ++r) {
    double top = logits.at(r, 0);
    for (int64_t j = 1; j < logits.width; ++j)
      top = std::max(top, logits.at(r, j));
    double sum = 0.0;
    for (int64_t j = 0; j < logits.width; ++j)
      sum += std::exp(logits.at(r, j) - top);
    total += top + std::log(sum) - logits.at(r, targets[r]);
  }
  return total / logits.rows;
}

//===----------------------------------------------------------------------===//
// The model IR under the reference interpreter
//===----------------------------------------------------------------------===//

/// One built module with @forward and @loss for a fixed batch and length.
class InterpretedModel {
public:
  InterpretedModel(const ModelConfig &cfg, Extent ext) : ext(ext) {
    loadModelDialects(context);
    BuildOptions options;
    options.batch = ext.batch;
    options.seqLen = ext.len;
    options.emitDecode = false;
    forwardFunc = buildFunc(context, cfg, options, "forward", module);
    if (module)
      lossFunc = module->lookupSymbol<mlir::func::FuncOp>("loss");
  }

  bool valid() const { return forwardFunc && lossFunc; }

  /// The megalodon.param names of a function's arguments, in order.
  std::vector<std::string> parameterNames(bool ofLoss) const {
    mlir::func::FuncOp func = ofLoss ? lossFunc : forwardFunc;
    std::vector<std::string> names;
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (auto name = func.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr))
        names.push_back(name.str());
    return names;
  }

  std::optional<std::vector<double>> forward(const std::vector<int64_t> &tokens,
                                             const rt::TensorMap &weights) {
    auto results = run(forwardFunc, {tokenTensor(tokens)}, weights);
    if (!results)
      return std::nullopt;
    return (*results)[0].real;
  }

  std::optional<double> loss(const std::vector<int64_t> &tokens,
                             const std::vector<int64_t> &targets,
                             const rt::TensorMap &weights) {
    auto results =
        run(lossFunc, {tokenTensor(tokens), tokenTensor(targets)}, weights);
    if (!results)
      return std::nullopt;
    return (*results)[0].real.at(0);
  }

private:
  RefValue tokenTensor(const std::vector<int64_t> &tokens) const {
    return RefValue::integerTensor({ext.batch, ext.len}, tokens);
  }

  std::optional<std::vector<RefValue>> run(mlir::func::FuncOp func,
                                           std::vector<RefValue> inputs,
                                           const rt::TensorMap &weights) {
    for (RefValue &p : parameterArgs(func, weights))
      inputs.push_back(std::move(p));
    auto results = ref::interpret(func, std::move(inputs));
    if (!results) {
      ADD_FAILURE() << llvm::toString(results.takeError());
      return std::nullopt;
    }
    return std::move(*results);
  }

  Extent ext;
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp forwardFunc, lossFunc;
};

//===----------------------------------------------------------------------===//
// Comparison helpers
//===----------------------------------------------------------------------===//

/// Inputs and next-token targets ([B*L] each) cut from one random stream.
struct TokenBatch {
  std::vector<int64_t> tokens, targets;
};

TokenBatch randomBatch(Extent ext, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> stream =
      randomTokens(ext.batch * (ext.len + 1), vocab, seed);
  TokenBatch batch;
  for (int64_t b = 0; b < ext.batch; ++b)
    for (int64_t t = 0; t < ext.len; ++t) {
      batch.tokens.push_back(stream[b * (ext.len + 1) + t]);
      batch.targets.push_back(stream[b * (ext.len + 1) + t + 1]);
    }
  return batch;
}

double maxAbsDiff(const std::vector<double> &a, const std::vector<double> &b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

double relDiff(double got, double want) {
  return std::abs(got - want) / std::abs(want);
}

std::string scientific(double value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

/// How far the interpreted IR is from the independent implementation.
struct Agreement {
  double logitErr = INFINITY;
  double lossErr = INFINITY;
};

/// Runs @forward and @loss on the interpreter and the independent model on
/// the same batch and measures the differences (recorded as test properties
/// so that runs with --gtest_output=xml report them).
Agreement compareWithInterpreter(const ModelConfig &cfg,
                                 const rt::TensorMap &weights,
                                 const TokenBatch &batch, Extent ext) {
  Agreement result;
  InterpretedModel model(cfg, ext);
  if (!model.valid()) {
    ADD_FAILURE() << "the model failed to build";
    return result;
  }
  std::optional<std::vector<double>> logits =
      model.forward(batch.tokens, weights);
  std::optional<double> loss = model.loss(batch.tokens, batch.targets, weights);
  if (!logits || !loss)
    return result;

  Weights w(weights);
  Matrix want = independentLogits(cfg, w, batch.tokens, ext);
  result.logitErr = maxAbsDiff(*logits, want.data);
  result.lossErr = relDiff(*loss, meanCrossEntropy(want, batch.targets));
  ::testing::Test::RecordProperty("max_logit_abs_err",
                                  scientific(result.logitErr));
  ::testing::Test::RecordProperty("loss_rel_err", scientific(result.lossErr));
  return result;
}

void setTensor(rt::TensorMap &weights, const std::string &name,
               std::vector<int64_t> shape, const std::vector<float> &values) {
  weights[name] = rt::HostTensor::fromF32(std::move(shape), values);
}

//===----------------------------------------------------------------------===//
// 1. A hand-checkable one-layer model
//===----------------------------------------------------------------------===//

/// D=4, Z=2 (one head, dz=2), E=4, F=4, N=1, C=2, G=1, V=3, one layer.
ModelConfig handConfig() {
  ModelConfig c;
  c.num_layers = 1;
  c.model_dim = 4;
  c.z_dim = 2;
  c.value_dim = 4;
  c.num_heads = 1;
  c.ffn_hidden_dim = 4;
  c.cema_ndim = 1;
  c.chunk_size = 2;
  c.norm_num_groups = 1;
  c.vocab_size = 3;
  return c;
}

/// Random weights for everything the hand values do not involve; the
/// embedding, the timestep norm, CEMA and the RMSNorm are set to round
/// numbers so that the first activations can be worked out on paper.
rt::TensorMap handWeights(const ModelConfig &cfg) {
  rt::TensorMap weights = perturbedWeights(cfg, 5);
  // Token 0 -> [2,0,2,0]: mu 1, var 1.  Token 1 -> [0,0,0,4]: mu 1, e 4.
  // Token 2 -> [1,3,-1,1]: mu 1, e 3.
  setTensor(weights, "embed.weight", {3, 4},
            {2, 0, 2, 0, 0, 0, 0, 4, 1, 3, -1, 1});
  const std::string p = "layers.0.mega.";
  setTensor(weights, p + "timenorm.weight", {4}, {0, 0, 0, 0});
  setTensor(weights, p + "timenorm.bias", {4}, {0, 0, 0, 0});
  // alpha = delta = 0 -> p = 1/2, |q| = 1 - 1/4 = 3/4. theta = 0 with N = 1
  // -> phi = 1 * (1/2) * 2pi = pi, so q = -3/4. gamma = 1 + 0i, omega = 1/4.
  // Kernel: k[0] = 1/2, k[1] = -3/8, k[2] = 9/32.
  setTensor(weights, p + "cema.alpha", {4, 1, 1}, {0, 0, 0, 0});
  setTensor(weights, p + "cema.delta", {4, 1, 1}, {0, 0, 0, 0});
  setTensor(weights, p + "cema.theta", {4, 1, 1}, {0, 0, 0, 0});
  setTensor(weights, p + "cema.gamma", {4, 1, 2}, {1, 0, 1, 0, 1, 0, 1, 0});
  setTensor(weights, p + "cema.omega", {4, 1}, {0.25, 0.25, 0.25, 0.25});
  setTensor(weights, p + "rmsnorm.weight", {4}, {0, 0, 0, 0});
  return weights;
}

void expectRowNear(const Matrix &m, int64_t row, std::vector<double> want,
                   const char *what) {
  for (int64_t j = 0; j < m.width; ++j)
    EXPECT_NEAR(m.at(row, j), want[j], 1e-14)
        << what << " [" << row << ", " << j << "]";
}

TEST(IndependentModelTest, HandCheckedOneLayerModel) {
  ModelConfig cfg = handConfig();
  rt::TensorMap weights = handWeights(cfg);
  // Four positions = two chunks of C = 2.
  Extent ext{1, 4};
  TokenBatch batch{{0, 1, 2, 0}, {1, 2, 0, 1}};

  std::vector<LayerTrace> trace;
  Matrix logits =
      independentLogits(cfg, Weights(weights), batch.tokens, ext, &trace);
  ASSERT_EQ(trace.size(), 1u);
  const LayerTrace &l0 = trace[0];
  double eps = cfg.norm_eps;

  // TSN at t=0 is the group norm of x_0 = [2,0,2,0] alone: (x-1)/sqrt(1+eps).
  double s0 = 1.0 / std::sqrt(1.0 + eps);
  expectRowNear(l0.xn, 0, {s0, -s0, s0, -s0}, "xn");
  // t=1: m = (1+1)/2 = 1, v = (2+4)/2 - 1 = 2, x_1 - m = [-1,-1,-1,3].
  double s1 = 1.0 / std::sqrt(2.0 + eps);
  expectRowNear(l0.xn, 1, {-s1, -s1, -s1, 3 * s1}, "xn");
  // t=2: m = 1, v = (2+4+3)/3 - 1 = 2, x_2 - m = [0,2,-2,0].
  expectRowNear(l0.xn, 2, {0, 2 * s1, -2 * s1, 0}, "xn");
  // t=3 (token 0 again): m = 1, v = (2+4+3+2)/4 - 1 = 7/4.
  double s3 = 1.0 / std::sqrt(1.75 + eps);
  expectRowNear(l0.xn, 3, {s3, -s3, s3, -s3}, "xn");

  // CEMA at t=0 is p*u_0*Re(gamma) + omega*u_0 = (1/2 + 1/4) u_0; later steps
  // add k[1] = -3/8 and k[2] = 9/32 times the earlier inputs. CEMA crosses
  // the chunk boundary at t=2: long-range information flows through it.
  for (int64_t j = 0; j < 4; ++j) {
    const Matrix &u = l0.xn;
    EXPECT_NEAR(l0.c.at(0, j), 0.75 * u.at(0, j), 1e-14);
    EXPECT_NEAR(l0.c.at(1, j), 0.75 * u.at(1, j) - 0.375 * u.at(0, j), 1e-14);
    EXPECT_NEAR(l0.c.at(2, j),
                0.75 * u.at(2, j) - 0.375 * u.at(1, j) + 0.28125 * u.at(0, j),
                1e-14);
  }

  // RMSNorm of c_0 = 0.75 s0 [1,-1,1,-1]: mean square 0.5625 s0^2.
  double m0 = 0.75 * s0 / std::sqrt(0.5625 * s0 * s0 + eps);
  expectRowNear(l0.mx, 0, {m0, -m0, m0, -m0}, "mx");

  // The first query of each chunk (t=0 and t=2) sees only its own key, so
  // its attention output is its own value: no attention across chunks.
  for (int64_t t : {0, 2})
    for (int64_t j = 0; j < 4; ++j)
      EXPECT_NEAR(l0.a.at(t, j), l0.v.at(t, j), 1e-15) << "t=" << t;

  InterpretedModel model(cfg, ext);
  ASSERT_TRUE(model.valid());
  std::optional<double> loss = model.loss(batch.tokens, batch.targets, weights);
  std::optional<std::vector<double>> got = model.forward(batch.tokens, weights);
  ASSERT_TRUE(loss && got);
  double want = meanCrossEntropy(logits, batch.targets);
  double logitErr = maxAbsDiff(*got, logits.data);
  EXPECT_LE(relDiff(*loss, want), 1e-12) << *loss << " vs " << want;
  EXPECT_LE(logitErr, 1e-12);
  ::testing::Test::RecordProperty("max_logit_abs_err", scientific(logitErr));
  ::testing::Test::RecordProperty("loss_rel_err",
                                  scientific(relDiff(*loss, want)));
}

//===----------------------------------------------------------------------===//
// 2. The worked-example configuration at several lengths
//===----------------------------------------------------------------------===//

class TinyConfigLengthTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(TinyConfigLengthTest, MatchesIndependentModel) {
  ModelConfig cfg = tinyConfig();
  // The parameter is the length in units of C/2: 1 -> C/2, 2 -> C, 6 -> 3C.
  Extent ext{2, GetParam() * cfg.chunk_size / 2};
  rt::TensorMap weights = perturbedWeights(cfg, 21);
  TokenBatch batch = randomBatch(ext, cfg.vocab_size, 7);
  Agreement agreement = compareWithInterpreter(cfg, weights, batch, ext);
  EXPECT_LE(agreement.logitErr, 1e-10);
  EXPECT_LE(agreement.lossErr, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Lengths, TinyConfigLengthTest,
                         ::testing::Values(1, 2, 6),
                         [](const ::testing::TestParamInfo<int64_t> &info) {
                           return "HalfChunks" + std::to_string(info.param);
                         });

//===----------------------------------------------------------------------===//
// 3. Architecture variants on a small configuration
//===----------------------------------------------------------------------===//

/// Two layers, D=16, Z=8 (two heads), E=16, F=24, N=3, C=4, G=2, V=11.
ModelConfig smallConfig() {
  ModelConfig c;
  c.num_layers = 2;
  c.model_dim = 16;
  c.z_dim = 8;
  c.value_dim = 16;
  c.num_heads = 2;
  c.ffn_hidden_dim = 24;
  c.cema_ndim = 3;
  c.chunk_size = 4;
  c.norm_num_groups = 2;
  c.vocab_size = 11;
  return c;
}

struct Variant {
  const char *name;
  void (*apply)(ModelConfig &);
};

/// Lets gtest name the variant instead of dumping its bytes.
void PrintTo(const Variant &variant, std::ostream *os) { *os << variant.name; }

const Variant kVariants[] = {
    {"Baseline", [](ModelConfig &) {}},
    {"Swiglu", [](ModelConfig &c) { c.swiglu = true; }},
    {"RescaleNffn", [](ModelConfig &c) { c.rescale_nffn = true; }},
    {"ScaleEmb", [](ModelConfig &c) { c.scale_emb = true; }},
    {"ShareEmb", [](ModelConfig &c) { c.share_emb = true; }},
    {"NoNormAffine", [](ModelConfig &c) { c.norm_affine = false; }},
    {"OneHead", [](ModelConfig &c) { c.num_heads = 1; }},
    {"FourHeads", [](ModelConfig &c) { c.num_heads = 4; }},
    {"Pg19Style",
     [](ModelConfig &c) { c.swiglu = c.scale_emb = c.share_emb = true; }},
};

class VariantTest : public ::testing::TestWithParam<Variant> {
protected:
  ModelConfig config() const {
    ModelConfig cfg = smallConfig();
    GetParam().apply(cfg);
    return cfg;
  }
};

TEST_P(VariantTest, MatchesIndependentModel) {
  ModelConfig cfg = config();
  // Three chunks, so RoPE restarts and chunk isolation are exercised.
  Extent ext{2, 3 * cfg.chunk_size};
  rt::TensorMap weights = perturbedWeights(cfg, 33);
  TokenBatch batch = randomBatch(ext, cfg.vocab_size, 9);
  Agreement agreement = compareWithInterpreter(cfg, weights, batch, ext);
  EXPECT_LE(agreement.logitErr, 1e-10);
  EXPECT_LE(agreement.lossErr, 1e-12);
}

TEST_P(VariantTest, TakesExactlyTheParametersOfTheSpec) {
  ModelConfig cfg = config();
  InterpretedModel model(cfg, Extent{1, cfg.chunk_size});
  ASSERT_TRUE(model.valid());
  for (bool ofLoss : {false, true}) {
    std::vector<std::string> names = model.parameterNames(ofLoss);
    auto count = [&](const std::string &suffix) {
      return std::count_if(names.begin(), names.end(), [&](const auto &n) {
        return llvm::StringRef(n).ends_with(suffix);
      });
    };
    int64_t layers = cfg.num_layers;
    // A shared table is one argument, used by both the embedding and the
    // output projection.
    EXPECT_EQ(count("embed.weight"), 1);
    EXPECT_EQ(count("output.output.weight"), cfg.share_emb ? 0 : 1);
    EXPECT_EQ(count("mega.rmsnorm.weight"), cfg.norm_affine ? layers : 0);
    EXPECT_EQ(count("nffn.norm.weight"), cfg.norm_affine ? layers : 0);
    EXPECT_EQ(count("nffn.norm.bias"), cfg.norm_affine ? layers : 0);
    EXPECT_EQ(count("nffn.fc3.weight"), cfg.swiglu ? layers : 0);
    EXPECT_EQ(count("nffn.alpha"), cfg.rescale_nffn ? layers : 0);
    // Timestep-norm weights always exist; buffers are never arguments.
    EXPECT_EQ(count("timenorm.weight"), layers);
    EXPECT_EQ(count("final_norm.bias"), 1);
    EXPECT_EQ(count("prior_count") + count("prior_mean") + count("rope.freqs"),
              0);
  }
  if (cfg.share_emb) {
    // A checkpoint holds both keys with equal values.
    for (const rt::TensorMap &weights :
         {initializeParameters(cfg, 4), perturbedWeights(cfg, 4)}) {
      ASSERT_TRUE(weights.count("output.output.weight"));
      EXPECT_EQ(weights.at("output.output.weight").toF64(),
                weights.at("embed.weight").toF64());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, VariantTest, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant> &info) {
                           return std::string(info.param.name);
                         });

//===----------------------------------------------------------------------===//
// 4. @loss is the mean cross-entropy of @forward's logits
//===----------------------------------------------------------------------===//

TEST(IndependentModelTest, LossIsMeanCrossEntropyOfForwardLogits) {
  ModelConfig cfg = tinyConfig();
  Extent ext{2, cfg.chunk_size};
  rt::TensorMap weights = perturbedWeights(cfg, 42);
  TokenBatch batch = randomBatch(ext, cfg.vocab_size, 43);
  InterpretedModel model(cfg, ext);
  ASSERT_TRUE(model.valid());
  std::optional<std::vector<double>> logits =
      model.forward(batch.tokens, weights);
  std::optional<double> loss = model.loss(batch.tokens, batch.targets, weights);
  ASSERT_TRUE(logits && loss);

  // -log softmax(l)[y] = logsumexp(l) - l[y], averaged over all B*L rows.
  Matrix m(ext.batch * ext.len, cfg.vocab_size);
  m.data = *logits;
  double want = meanCrossEntropy(m, batch.targets);
  EXPECT_LE(relDiff(*loss, want), 1e-12) << *loss << " vs " << want;
  ::testing::Test::RecordProperty("loss_rel_err",
                                  scientific(relDiff(*loss, want)));
}

//===----------------------------------------------------------------------===//
// 5. Sanity: an untrained model is close to a uniform guess
//===----------------------------------------------------------------------===//

TEST(IndependentModelTest, RandomModelLossIsNearLogVocab) {
  ModelConfig cfg = tinyConfig();
  Extent ext{2, 2 * cfg.chunk_size};
  // Plain initialization (section 10), not perturbed, and uniform tokens.
  rt::TensorMap weights = initializeParameters(cfg, 1);
  TokenBatch batch = randomBatch(ext, cfg.vocab_size, 77);
  InterpretedModel model(cfg, ext);
  ASSERT_TRUE(model.valid());
  std::optional<double> loss = model.loss(batch.tokens, batch.targets, weights);
  ASSERT_TRUE(loss);
  // Logits of roughly unit spread put the expected loss a little above
  // ln(V) (about ln V + var/2); a broken model lands far from it.
  double logV = std::log(static_cast<double>(cfg.vocab_size));
  EXPECT_GT(*loss, logV - 0.5);
  EXPECT_LT(*loss, logV + 1.5);
  ::testing::Test::RecordProperty("loss", scientific(*loss));
}

} // namespace
