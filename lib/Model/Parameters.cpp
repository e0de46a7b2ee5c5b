//===- Parameters.cpp - Named parameters, initialization, checks ----------===//
//
// The parameter table follows the reference state_dict exactly (MODEL.md
// section 2) so that checkpoints written by the reference load by name and
// checkpoints written here load into the reference.
//
// Initialization uses its own generator rather than std::mt19937 plus
// std::normal_distribution: the standard distributions are
// implementation-defined, so the same seed could give different weights with
// a different standard library. The scheme, fixed so that results are
// reproducible:
//
//  * Tensors are produced in parameterSpecs order. Every random tensor draws
//    from its own stream, seeded from (seed, FNV-1a hash of the tensor name)
//    through SplitMix64 into a xoshiro256** state. Adding, removing or
//    reordering tensors therefore leaves the values of the others unchanged.
//  * Uniform doubles in [0, 1) take the top 53 bits of a 64-bit draw.
//  * Normals use the Box-Muller transform in double precision; each pair of
//    uniforms yields two normals, used in order.
//  * Truncated normals redraw until the standard normal falls inside the cut.
//  * Values are computed in double and rounded once to fp32.
//
// The only dependence on the platform is the C math library (log, cos, sin,
// exp), whose last-bit differences practically never survive the final
// rounding to fp32.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Model/Parameters.h"

#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

using namespace megalodon;
using rt::DType;
using rt::HostTensor;

//===----------------------------------------------------------------------===//
// Parameter table
//===----------------------------------------------------------------------===//

std::vector<ParamSpec> megalodon::parameterSpecs(const ModelConfig &config) {
  const int64_t V = config.vocab_size, D = config.model_dim;
  const int64_t Z = config.z_dim, E = config.value_dim;
  const int64_t F = config.ffn_hidden_dim, N = config.cema_ndim;
  const int64_t G = config.norm_num_groups;
  // Guarded so that an unvalidated config cannot divide by zero here.
  const int64_t dz = config.num_heads > 0 ? config.headQKDim() : 0;

  std::vector<ParamSpec> specs;
  auto param = [&](std::string name, std::vector<int64_t> shape) {
    specs.push_back({std::move(name), std::move(shape), true, ""});
  };
  auto buffer = [&](std::string name, std::vector<int64_t> shape) {
    specs.push_back({std::move(name), std::move(shape), false, ""});
  };
  // Timestep norm, shared by the layers and the output head: its own
  // parameters first, then its buffers, as torch's state_dict lists them.
  auto timestepNorm = [&](const std::string &prefix) {
    param(prefix + ".weight", {D});
    param(prefix + ".bias", {D});
    buffer(prefix + ".prior_count", {});
    buffer(prefix + ".prior_mean", {G});
    buffer(prefix + ".prior_logv", {G});
  };

  param("embed.weight", {V, D});
  buffer("rope.freqs", {dz / 2});

  for (int64_t l = 0; l < config.num_layers; ++l) {
    const std::string mega = "layers." + std::to_string(l) + ".mega.";
    // The module's own parameters precede its submodules in a state_dict,
    // which is why gamma/beta come first.
    param(mega + "gamma", {2, Z});
    param(mega + "beta", {2, Z});
    timestepNorm(mega + "timenorm");
    param(mega + "cema.alpha", {D, N, 1});
    param(mega + "cema.delta", {D, N, 1});
    param(mega + "cema.theta", {D, 1, 1});
    param(mega + "cema.gamma", {D, N, 2});
    param(mega + "cema.omega", {D, 1});
    if (config.norm_affine)
      param(mega + "rmsnorm.weight", {D});
    param(mega + "wv.weight", {E, D});
    param(mega + "wv.bias", {E});
    param(mega + "wz.weight", {Z, D});
    param(mega + "wz.bias", {Z});
    param(mega + "wr.weight", {E, D});
    param(mega + "wr.bias", {E});
    param(mega + "wh1.weight", {D, D});
    param(mega + "wh1.bias", {D});
    param(mega + "wh2.weight", {D, E});

    const std::string nffn = "layers." + std::to_string(l) + ".nffn.";
    if (config.rescale_nffn)
      param(nffn + "alpha", {D});
    if (config.norm_affine) {
      param(nffn + "norm.weight", {D});
      param(nffn + "norm.bias", {D});
    }
    param(nffn + "fc1.weight", {F, D});
    param(nffn + "fc2.weight", {D, F});
    if (config.swiglu)
      param(nffn + "fc3.weight", {F, D});
  }

  timestepNorm("output.final_norm");
  param("output.output.weight", {config.outputSize(), D});
  if (config.share_emb)
    specs.back().aliasOf = "embed.weight";
  return specs;
}

int64_t megalodon::countTrainableParameters(const ModelConfig &config) {
  int64_t total = 0;
  for (const ParamSpec &spec : parameterSpecs(config)) {
    if (!spec.trainable || !spec.aliasOf.empty())
      continue;
    int64_t count = 1;
    for (int64_t dim : spec.shape)
      count *= dim;
    total += count;
  }
  return total;
}

//===----------------------------------------------------------------------===//
// Random streams
//===----------------------------------------------------------------------===//

namespace {

// M_PI is POSIX, not standard C++.
constexpr double kPi = 3.14159265358979323846;

uint64_t splitMix64(uint64_t &state) {
  state += 0x9e3779b97f4a7c15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a64(llvm::StringRef text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

/// xoshiro256** with helpers for the distributions initialization needs.
class RandomStream {
public:
  /// The stream of tensor `name` under `seed`.
  RandomStream(uint64_t seed, llvm::StringRef name) {
    // Mixing the seed first keeps small seeds (0, 1, 2, ...) far apart
    // before the name hash is folded in.
    uint64_t mixer = seed;
    uint64_t key = splitMix64(mixer) ^ fnv1a64(name);
    for (uint64_t &word : state)
      word = splitMix64(key);
  }

  uint64_t next() {
    const uint64_t result = rotl(state[1] * 5, 7) * 9;
    const uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Standard normal (Box-Muller, both outputs used).
  double normal() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    // u1 lies in (0, 1] so that the logarithm stays finite.
    const double u1 = static_cast<double>((next() >> 11) + 1) * 0x1.0p-53;
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * kPi * u2;
    spare = radius * std::sin(angle);
    hasSpare = true;
    return radius * std::cos(angle);
  }

  /// Standard normal conditioned on |x| <= cut, by rejection.
  double truncatedNormal(double cut) {
    for (;;) {
      double x = normal();
      if (std::fabs(x) <= cut)
        return x;
    }
  }

  /// Uniform integer in [0, bound), without modulo bias.
  uint64_t below(uint64_t bound) {
    // Draws in the final partial block of size 2^64 mod bound are redrawn.
    const uint64_t limit = -bound % bound;
    for (;;) {
      uint64_t x = next();
      if (x >= limit)
        return x % bound;
    }
  }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state[4];
  bool hasSpare = false;
  double spare = 0.0;
};

//===----------------------------------------------------------------------===//
// Initialization rules
//===----------------------------------------------------------------------===//

template <typename Fn>
HostTensor makeF32(const std::vector<int64_t> &shape, Fn &&valueAt) {
  HostTensor tensor = HostTensor::zeros(DType::F32, shape);
  float *data = tensor.f32();
  const int64_t count = tensor.numel();
  for (int64_t i = 0; i < count; ++i)
    data[i] = static_cast<float>(valueAt(i));
  return tensor;
}

/// The layer index of a "layers.<l>.*" name; 0 otherwise.
int64_t layerIndexOf(llvm::StringRef name) {
  if (!name.consume_front("layers."))
    return 0;
  int64_t layer = 0;
  name.take_until([](char c) { return c == '.'; }).getAsInteger(10, layer);
  return layer;
}

/// The name without its "layers.<l>." prefix.
llvm::StringRef localName(llvm::StringRef name) {
  if (!name.starts_with("layers."))
    return name;
  return name.drop_front(7)
      .drop_until([](char c) { return c == '.'; })
      .drop_front(1);
}

/// Linear weights of the mega and FFN blocks, initialized per init_mode.
bool isLinearWeight(llvm::StringRef local) {
  static const char *const names[] = {"mega.wv.weight",  "mega.wz.weight",
                                      "mega.wr.weight",  "mega.wh1.weight",
                                      "mega.wh2.weight", "nffn.fc1.weight",
                                      "nffn.fc2.weight", "nffn.fc3.weight"};
  for (const char *candidate : names)
    if (local == candidate)
      return true;
  return false;
}

HostTensor initLinearWeight(const ModelConfig &config, const ParamSpec &spec,
                            RandomStream &rng) {
  const double fanOut = static_cast<double>(spec.shape[0]);
  const double fanIn = static_cast<double>(spec.shape[1]);
  const std::string &mode = config.init_mode;
  if (mode == "he") {
    // Kaiming-normal with leaky-ReLU slope sqrt(5): gain^2 = 2/(1+5).
    const double std = 1.0 / std::sqrt(3.0 * fanIn);
    return makeF32(spec.shape, [&](int64_t) { return std * rng.normal(); });
  }
  if (mode == "bert")
    return makeF32(spec.shape, [&](int64_t) { return 0.02 * rng.normal(); });
  if (mode == "gaussian")
    return makeF32(spec.shape,
                   [&](int64_t) { return rng.truncatedNormal(3.0); });
  if (mode == "xavier") {
    const double bound = std::sqrt(6.0 / (fanIn + fanOut));
    return makeF32(spec.shape, [&](int64_t) {
      return bound * (2.0 * rng.uniform() - 1.0);
    });
  }
  // "none" leaves the reference's storage uninitialized; zeros are the
  // deterministic stand-in for "whatever memory held".
  return HostTensor::zeros(DType::F32, spec.shape);
}

/// theta[d] = logit(f_{pi(d)}), f_k = exp(-k ln(D) / D), k = 1..D.
HostTensor initCemaTheta(const ModelConfig &config, const ParamSpec &spec,
                         RandomStream &rng) {
  const int64_t D = config.model_dim;
  std::vector<int64_t> perm(D);
  std::iota(perm.begin(), perm.end(), int64_t(1));
  // Fisher-Yates from the back.
  for (int64_t i = D - 1; i > 0; --i)
    std::swap(perm[i], perm[rng.below(static_cast<uint64_t>(i) + 1)]);
  const double logD = std::log(static_cast<double>(D));
  return makeF32(spec.shape, [&](int64_t d) {
    // logit(f) = log f - log(1 - f), with 1 - f = -expm1(log f) to keep
    // precision for f close to 1.
    const double logF = -static_cast<double>(perm[d]) * logD / D;
    double oneMinusF = -std::expm1(logF);
    // For D = 1 the formula gives f = 1 and an infinite logit; the smallest
    // positive gap keeps theta finite.
    oneMinusF = std::max(oneMinusF, 0x1.0p-53);
    return logF - std::log(oneMinusF);
  });
}

HostTensor initTensor(const ModelConfig &config, const ParamSpec &spec,
                      uint64_t seed) {
  const llvm::StringRef name = spec.name;
  const llvm::StringRef local = localName(name);

  if (local.ends_with(".prior_count"))
    return HostTensor::zeros(DType::I64, spec.shape);
  if (name == "rope.freqs") {
    const double dz = static_cast<double>(config.headQKDim());
    return makeF32(spec.shape, [&](int64_t j) {
      return std::pow(config.rope_base, -2.0 * static_cast<double>(j) / dz);
    });
  }
  if (name == "embed.weight" || name == "output.output.weight") {
    RandomStream rng(seed, name);
    const double std = 1.0 / std::sqrt(static_cast<double>(config.model_dim));
    return makeF32(spec.shape,
                   [&](int64_t) { return std * rng.truncatedNormal(3.0); });
  }
  if (local == "nffn.alpha") {
    const double value = 0.1 * std::pow(0.5, layerIndexOf(name));
    return makeF32(spec.shape, [&](int64_t) { return value; });
  }
  if (local == "mega.cema.alpha" || local == "mega.cema.delta") {
    RandomStream rng(seed, name);
    return makeF32(spec.shape, [&](int64_t) { return 0.2 * rng.normal(); });
  }
  if (local == "mega.cema.theta") {
    RandomStream rng(seed, name);
    return initCemaTheta(config, spec, rng);
  }
  if (local == "mega.cema.gamma") {
    RandomStream rng(seed, name);
    // Layout [D, N, 2]: even elements are real parts, odd ones imaginary.
    return makeF32(spec.shape, [&](int64_t i) {
      return (i % 2 == 0) ? rng.normal() : 0.0;
    });
  }
  if (local == "mega.cema.omega") {
    RandomStream rng(seed, name);
    // N(0, 0.25) truncated to [-1, 1] is a cut at 4 standard deviations.
    return makeF32(spec.shape,
                   [&](int64_t) { return 0.25 * rng.truncatedNormal(4.0); });
  }
  if (isLinearWeight(local)) {
    RandomStream rng(seed, name);
    return initLinearWeight(config, spec, rng);
  }
  // Everything else starts at zero: linear biases, norm weights and biases
  // (stored as offsets from 1), mega.gamma/beta, prior_mean and prior_logv.
  return HostTensor::zeros(DType::F32, spec.shape);
}

} // namespace

rt::TensorMap megalodon::initializeParameters(const ModelConfig &config,
                                              uint64_t seed) {
  rt::TensorMap weights;
  for (const ParamSpec &spec : parameterSpecs(config)) {
    // With share_emb both keys hold the same values, as in a reference
    // checkpoint; the alias target always precedes the alias.
    if (!spec.aliasOf.empty()) {
      weights[spec.name] = weights.at(spec.aliasOf);
      continue;
    }
    weights[spec.name] = initTensor(config, spec, seed);
  }
  return weights;
}

//===----------------------------------------------------------------------===//
// Weights check
//===----------------------------------------------------------------------===//

namespace {

rt::Status weightsError(const std::string &message) {
  return rt::Status::error("weights: " + message);
}

bool allowedDType(const ParamSpec &spec, DType dtype) {
  if (spec.trainable)
    return dtype == DType::F32 || dtype == DType::BF16;
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F64 ||
         dtype == DType::I64;
}

bool sameValues(const HostTensor &a, const HostTensor &b) {
  if (a.dtype == b.dtype)
    return a.bytes == b.bytes;
  return a.toF64() == b.toF64();
}

} // namespace

rt::Status megalodon::checkParameters(const ModelConfig &config,
                                      const rt::TensorMap &weights) {
  if (llvm::Error err = validateModelConfig(config))
    return rt::Status::error(llvm::toString(std::move(err)));

  const std::vector<ParamSpec> specs = parameterSpecs(config);
  std::set<std::string> expected;
  for (const ParamSpec &spec : specs) {
    expected.insert(spec.name);
    auto it = weights.find(spec.name);
    if (it == weights.end())
      return weightsError("missing tensor '" + spec.name + "'");
    const HostTensor &tensor = it->second;
    if (tensor.shape != spec.shape)
      return weightsError("tensor '" + spec.name + "' has shape " +
                          rt::shapeToString(tensor.shape) + ", expected " +
                          rt::shapeToString(spec.shape));
    if (!allowedDType(spec, tensor.dtype))
      return weightsError(
          "tensor '" + spec.name + "' has dtype " +
          rt::dtypeName(tensor.dtype) + ", expected " +
          (spec.trainable ? "F32 or BF16" : "F32, BF16, F64 or I64"));
    const size_t wantBytes =
        static_cast<size_t>(tensor.numel()) * rt::dtypeSize(tensor.dtype);
    if (tensor.bytes.size() != wantBytes)
      return weightsError("tensor '" + spec.name + "' holds " +
                          std::to_string(tensor.bytes.size()) +
                          " bytes, expected " + std::to_string(wantBytes));
    // A nonzero count would make the prior a real part of the statistics,
    // which this implementation (like the released models) never uses.
    if (llvm::StringRef(spec.name).ends_with(".prior_count")) {
      for (double value : tensor.toF64())
        if (value != 0.0)
          return weightsError("buffer '" + spec.name + "' is " +
                              std::to_string(static_cast<long long>(value)) +
                              ", only 0 is supported");
    }
    if (!spec.aliasOf.empty()) {
      // The alias target precedes the alias in specs, so it is present.
      if (!sameValues(tensor, weights.at(spec.aliasOf)))
        return weightsError("tensor '" + spec.name + "' differs from '" +
                            spec.aliasOf + "', which it shares (share_emb)");
    }
  }
  for (const auto &entry : weights)
    if (!expected.count(entry.first))
      return weightsError("unexpected tensor '" + entry.first + "'");
  return rt::Status::success();
}
