//===- ParametersTest.cpp - Parameter table, init and check tests ---------===//

#include "Common/TinyConfig.h"

#include "megalodon/Model/Parameters.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace megalodon;
using megalodon::testing::tinyConfig;
using rt::DType;
using rt::HostTensor;

namespace {

std::string examplePath(llvm::StringRef name) {
  llvm::SmallString<256> path(__FILE__);
  llvm::sys::path::remove_filename(path); // unittests/Model
  llvm::sys::path::remove_filename(path); // unittests
  llvm::sys::path::remove_filename(path); // repository root
  llvm::sys::path::append(path, "examples", name);
  return std::string(path);
}

ModelConfig loadExample(llvm::StringRef name) {
  llvm::Expected<ModelConfig> config = loadModelConfig(examplePath(name));
  if (!config) {
    ADD_FAILURE() << llvm::toString(config.takeError());
    return ModelConfig();
  }
  return *config;
}

std::vector<std::string> names(const std::vector<ParamSpec> &specs) {
  std::vector<std::string> out;
  for (const ParamSpec &spec : specs)
    out.push_back(spec.name);
  return out;
}

const ParamSpec *findSpec(const std::vector<ParamSpec> &specs,
                          const std::string &name) {
  for (const ParamSpec &spec : specs)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

std::vector<double> valuesOf(const rt::TensorMap &weights,
                             const std::string &name) {
  auto it = weights.find(name);
  if (it == weights.end()) {
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }
  return it->second.toF64();
}

struct Moments {
  double mean, std, maxAbs;
};

Moments moments(const std::vector<double> &values) {
  double sum = 0, maxAbs = 0;
  for (double v : values) {
    sum += v;
    maxAbs = std::max(maxAbs, std::fabs(v));
  }
  const double mean = sum / values.size();
  double sq = 0;
  for (double v : values)
    sq += (v - mean) * (v - mean);
  return {mean, std::sqrt(sq / values.size()), maxAbs};
}

/// The standard deviation of a standard normal truncated at +-cut.
double truncatedStd(double cut) {
  const double pdf =
      std::exp(-0.5 * cut * cut) / std::sqrt(2 * 3.14159265358979323846);
  const double mass = std::erf(cut / std::sqrt(2.0));
  return std::sqrt(1.0 - 2.0 * cut * pdf / mass);
}

/// Checks sample moments against a zero-mean law with standard deviation
/// `std`: the mean within 5 standard errors, the std within `relTol`.
void expectMoments(const std::vector<double> &values, double std,
                   double relTol) {
  ASSERT_FALSE(values.empty());
  Moments m = moments(values);
  EXPECT_LT(std::fabs(m.mean), 5.0 * std / std::sqrt(double(values.size())))
      << "mean " << m.mean;
  EXPECT_NEAR(m.std / std, 1.0, relTol) << "std " << m.std << " vs " << std;
}

int64_t numel(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// MODEL.md section 2's closed form of the trainable parameter count.
int64_t formulaCount(const ModelConfig &c) {
  const int64_t D = c.model_dim, Z = c.z_dim, E = c.value_dim;
  const int64_t N = c.cema_ndim, F = c.ffn_hidden_dim;
  int64_t mega = 4 * Z + 5 * D + 4 * D * N + (2 * E * D + 2 * E) + (Z * D + Z) +
                 (D * D + D) + D * E;
  int64_t nffn =
      2 * D + 2 * F * D + (c.swiglu ? F * D : 0) + (c.rescale_nffn ? D : 0);
  int64_t total = c.num_layers * (mega + nffn) + c.vocab_size * D + 2 * D;
  if (!c.share_emb)
    total += c.outputSize() * D;
  return total;
}

//===----------------------------------------------------------------------===//
// Table
//===----------------------------------------------------------------------===//

TEST(ParameterSpecs, Counts) {
  EXPECT_EQ(countTrainableParameters(tinyConfig()), 131008);
  EXPECT_EQ(countTrainableParameters(loadExample("tiny.json")), 131008);
  EXPECT_EQ(countTrainableParameters(loadExample("mega200M.json")), 220627968);
  EXPECT_EQ(countTrainableParameters(loadExample("mega7.1B.json")),
            int64_t(7117381632));
  for (const char *name :
       {"tiny.json", "small.json", "mega200M.json", "mega1.3B.json",
        "mega1.3B_pg19.json", "mega7.1B.json", "mega7.3B.json"}) {
    ModelConfig c = loadExample(name);
    EXPECT_EQ(countTrainableParameters(c), formulaCount(c)) << name;
  }
}

TEST(ParameterSpecs, WorkedExampleOrderAndShapes) {
  std::vector<ParamSpec> specs = parameterSpecs(tinyConfig());
  using Shape = std::vector<int64_t>;
  std::vector<std::pair<std::string, Shape>> expected = {
      {"embed.weight", {256, 64}}, {"rope.freqs", {8}}};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    std::vector<std::pair<std::string, Shape>> layer = {
        {"mega.gamma", {2, 32}},
        {"mega.beta", {2, 32}},
        {"mega.timenorm.weight", {64}},
        {"mega.timenorm.bias", {64}},
        {"mega.timenorm.prior_count", {}},
        {"mega.timenorm.prior_mean", {4}},
        {"mega.timenorm.prior_logv", {4}},
        {"mega.cema.alpha", {64, 4, 1}},
        {"mega.cema.delta", {64, 4, 1}},
        {"mega.cema.theta", {64, 1, 1}},
        {"mega.cema.gamma", {64, 4, 2}},
        {"mega.cema.omega", {64, 1}},
        {"mega.rmsnorm.weight", {64}},
        {"mega.wv.weight", {128, 64}},
        {"mega.wv.bias", {128}},
        {"mega.wz.weight", {32, 64}},
        {"mega.wz.bias", {32}},
        {"mega.wr.weight", {128, 64}},
        {"mega.wr.bias", {128}},
        {"mega.wh1.weight", {64, 64}},
        {"mega.wh1.bias", {64}},
        {"mega.wh2.weight", {64, 128}},
        {"nffn.norm.weight", {64}},
        {"nffn.norm.bias", {64}},
        {"nffn.fc1.weight", {128, 64}},
        {"nffn.fc2.weight", {64, 128}},
    };
    for (auto &entry : layer)
      expected.push_back({p + entry.first, entry.second});
  }
  expected.push_back({"output.final_norm.weight", {64}});
  expected.push_back({"output.final_norm.bias", {64}});
  expected.push_back({"output.final_norm.prior_count", {}});
  expected.push_back({"output.final_norm.prior_mean", {4}});
  expected.push_back({"output.final_norm.prior_logv", {4}});
  expected.push_back({"output.output.weight", {256, 64}});

  ASSERT_EQ(specs.size(), expected.size());
  int64_t trainable = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE(expected[i].first);
    EXPECT_EQ(specs[i].name, expected[i].first);
    EXPECT_EQ(specs[i].shape, expected[i].second);
    EXPECT_EQ(specs[i].aliasOf, "");
    const llvm::StringRef name = specs[i].name;
    const bool isBuffer = name == "rope.freqs" || name.contains(".prior_");
    EXPECT_EQ(specs[i].trainable, !isBuffer);
    if (specs[i].trainable)
      trainable += numel(specs[i].shape);
  }
  EXPECT_EQ(trainable, 131008);
}

TEST(ParameterSpecs, NoNormAffine) {
  ModelConfig c = tinyConfig();
  c.norm_affine = false;
  std::vector<ParamSpec> specs = parameterSpecs(c);
  for (const ParamSpec &spec : specs) {
    EXPECT_EQ(llvm::StringRef(spec.name).contains("rmsnorm"), false)
        << spec.name;
    EXPECT_EQ(llvm::StringRef(spec.name).contains("nffn.norm"), false)
        << spec.name;
  }
  // Timestep-norm affine parameters always exist.
  EXPECT_NE(findSpec(specs, "layers.0.mega.timenorm.weight"), nullptr);
  EXPECT_NE(findSpec(specs, "output.final_norm.bias"), nullptr);
  EXPECT_EQ(specs.size(), parameterSpecs(tinyConfig()).size() - 2 * 3);
  EXPECT_EQ(countTrainableParameters(c), 131008 - 2 * 3 * 64);
}

TEST(ParameterSpecs, SwigluRescaleOrder) {
  ModelConfig c = tinyConfig();
  c.swiglu = true;
  c.rescale_nffn = true;
  std::vector<std::string> all = names(parameterSpecs(c));
  auto at = [&](const std::string &name) {
    return std::find(all.begin(), all.end(), name) - all.begin();
  };
  for (int l = 0; l < 2; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    ASSERT_LT(size_t(at(p + "nffn.alpha")), all.size());
    EXPECT_EQ(at(p + "nffn.alpha"), at(p + "mega.wh2.weight") + 1);
    EXPECT_EQ(at(p + "nffn.norm.weight"), at(p + "nffn.alpha") + 1);
    EXPECT_EQ(at(p + "nffn.norm.bias"), at(p + "nffn.alpha") + 2);
    EXPECT_EQ(at(p + "nffn.fc1.weight"), at(p + "nffn.alpha") + 3);
    EXPECT_EQ(at(p + "nffn.fc2.weight"), at(p + "nffn.alpha") + 4);
    EXPECT_EQ(at(p + "nffn.fc3.weight"), at(p + "nffn.alpha") + 5);
  }
  const std::vector<ParamSpec> specs = parameterSpecs(c);
  EXPECT_EQ(findSpec(specs, "layers.1.nffn.fc3.weight")->shape,
            (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(findSpec(specs, "layers.1.nffn.alpha")->shape,
            (std::vector<int64_t>{64}));
  EXPECT_EQ(countTrainableParameters(c), 131008 + 2 * (128 * 64 + 64));

  // Without rescale_nffn, fc3 still follows fc2 and alpha is absent.
  c.rescale_nffn = false;
  all = names(parameterSpecs(c));
  EXPECT_EQ(at("layers.0.nffn.alpha"), int64_t(all.size()));
  EXPECT_EQ(at("layers.0.nffn.fc3.weight"), at("layers.0.nffn.fc2.weight") + 1);
  EXPECT_EQ(at("layers.0.nffn.norm.weight"),
            at("layers.0.mega.wh2.weight") + 1);
}

TEST(ParameterSpecs, ShareEmb) {
  ModelConfig c = tinyConfig();
  c.share_emb = true;
  std::vector<ParamSpec> specs = parameterSpecs(c);
  ASSERT_EQ(specs.back().name, "output.output.weight");
  EXPECT_EQ(specs.back().aliasOf, "embed.weight");
  EXPECT_TRUE(specs.back().trainable);
  EXPECT_EQ(specs.back().shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(countTrainableParameters(c), 131008 - 256 * 64);
  // mega1.3B_pg19 shares; its count holds the embedding once.
  ModelConfig pg19 = loadExample("mega1.3B_pg19.json");
  EXPECT_EQ(countTrainableParameters(pg19), formulaCount(pg19));
}

TEST(ParameterSpecs, OutputSize) {
  ModelConfig c = tinyConfig();
  c.output_size = 300;
  std::vector<ParamSpec> specs = parameterSpecs(c);
  EXPECT_EQ(findSpec(specs, "output.output.weight")->shape,
            (std::vector<int64_t>{300, 64}));
  EXPECT_EQ(findSpec(specs, "embed.weight")->shape,
            (std::vector<int64_t>{256, 64}));
}

//===----------------------------------------------------------------------===//
// Initialization
//===----------------------------------------------------------------------===//

TEST(InitializeParameters, KeysDTypesShapes) {
  ModelConfig c = tinyConfig();
  rt::TensorMap weights = initializeParameters(c, 1);
  std::vector<ParamSpec> specs = parameterSpecs(c);
  ASSERT_EQ(weights.size(), specs.size());
  for (const ParamSpec &spec : specs) {
    SCOPED_TRACE(spec.name);
    auto it = weights.find(spec.name);
    ASSERT_NE(it, weights.end());
    EXPECT_EQ(it->second.shape, spec.shape);
    const bool isCount = llvm::StringRef(spec.name).ends_with(".prior_count");
    EXPECT_EQ(it->second.dtype, isCount ? DType::I64 : DType::F32);
    EXPECT_EQ(it->second.bytes.size(),
              size_t(numel(spec.shape)) * (isCount ? 8 : 4));
  }
  EXPECT_TRUE(checkParameters(c, weights).ok())
      << checkParameters(c, weights).message();
}

TEST(InitializeParameters, Deterministic) {
  ModelConfig c = tinyConfig();
  rt::TensorMap a = initializeParameters(c, 42);
  rt::TensorMap b = initializeParameters(c, 42);
  rt::TensorMap other = initializeParameters(c, 43);
  ASSERT_EQ(a.size(), b.size());
  for (const auto &[name, tensor] : a) {
    EXPECT_EQ(tensor.bytes, b.at(name).bytes) << name;
    EXPECT_EQ(tensor.dtype, b.at(name).dtype) << name;
  }
  for (const char *name :
       {"embed.weight", "output.output.weight", "layers.0.mega.wv.weight",
        "layers.1.nffn.fc2.weight", "layers.0.mega.cema.alpha",
        "layers.0.mega.cema.theta", "layers.0.mega.cema.gamma",
        "layers.0.mega.cema.omega"})
    EXPECT_NE(a.at(name).bytes, other.at(name).bytes) << name;
  // Deterministic tensors do not depend on the seed.
  EXPECT_EQ(a.at("rope.freqs").bytes, other.at("rope.freqs").bytes);
  // Different tensors of the same shape get different streams.
  EXPECT_NE(a.at("layers.0.mega.wv.weight").bytes,
            a.at("layers.0.mega.wr.weight").bytes);
  EXPECT_NE(a.at("layers.0.mega.wv.weight").bytes,
            a.at("layers.1.mega.wv.weight").bytes);
  EXPECT_NE(a.at("layers.0.mega.cema.alpha").bytes,
            a.at("layers.0.mega.cema.delta").bytes);
  EXPECT_NE(a.at("embed.weight").bytes, a.at("output.output.weight").bytes);
}

TEST(InitializeParameters, StreamsAreIndependentOfOtherTensors) {
  // Adding tensors (fc3, nffn.alpha) or dropping some (norm_affine=false)
  // leaves the values of every tensor present in both unchanged.
  ModelConfig base = tinyConfig();
  ModelConfig more = base;
  more.swiglu = true;
  more.rescale_nffn = true;
  more.norm_affine = false;
  rt::TensorMap a = initializeParameters(base, 7);
  rt::TensorMap b = initializeParameters(more, 7);
  int shared = 0;
  for (const auto &[name, tensor] : a) {
    auto it = b.find(name);
    if (it == b.end())
      continue;
    ++shared;
    EXPECT_EQ(tensor.bytes, it->second.bytes) << name;
  }
  EXPECT_GT(shared, 40);
}

TEST(InitializeParameters, HeStatistics) {
  // small.json: wv.weight [512, 256] and wh2.weight [256, 512].
  ModelConfig c = loadExample("small.json");
  rt::TensorMap w = initializeParameters(c, 2024);
  {
    SCOPED_TRACE("wv");
    expectMoments(valuesOf(w, "layers.0.mega.wv.weight"),
                  1.0 / std::sqrt(3.0 * 256), 0.02);
  }
  {
    SCOPED_TRACE("wh2 (fan_in E)");
    expectMoments(valuesOf(w, "layers.3.mega.wh2.weight"),
                  1.0 / std::sqrt(3.0 * 512), 0.02);
  }
  {
    SCOPED_TRACE("fc2 (fan_in F)");
    expectMoments(valuesOf(w, "layers.1.nffn.fc2.weight"),
                  1.0 / std::sqrt(3.0 * 640), 0.02);
  }
}

TEST(InitializeParameters, OtherInitModes) {
  ModelConfig c = loadExample("small.json");
  c.num_layers = 1;
  const std::string wv = "layers.0.mega.wv.weight"; // [512, 256]

  c.init_mode = "bert";
  {
    SCOPED_TRACE("bert");
    expectMoments(valuesOf(initializeParameters(c, 5), wv), 0.02, 0.02);
  }
  c.init_mode = "gaussian";
  {
    SCOPED_TRACE("gaussian");
    std::vector<double> v = valuesOf(initializeParameters(c, 5), wv);
    expectMoments(v, truncatedStd(3.0), 0.02);
    EXPECT_LE(moments(v).maxAbs, 3.0);
    EXPECT_GT(moments(v).maxAbs, 2.5);
  }
  c.init_mode = "xavier";
  {
    SCOPED_TRACE("xavier");
    std::vector<double> v = valuesOf(initializeParameters(c, 5), wv);
    const double bound = std::sqrt(6.0 / (256 + 512));
    expectMoments(v, bound / std::sqrt(3.0), 0.02);
    EXPECT_LE(moments(v).maxAbs, bound);
    EXPECT_GT(moments(v).maxAbs, 0.99 * bound);
  }
  c.init_mode = "none";
  {
    SCOPED_TRACE("none");
    rt::TensorMap w = initializeParameters(c, 5);
    for (const char *name :
         {"layers.0.mega.wv.weight", "layers.0.nffn.fc1.weight"})
      for (double v : valuesOf(w, name))
        ASSERT_EQ(v, 0.0) << name;
    // init_mode only concerns the linear weights.
    EXPECT_GT(moments(valuesOf(w, "embed.weight")).std, 0.0);
  }
}

TEST(InitializeParameters, EmbeddingAndOutput) {
  ModelConfig c = loadExample("small.json"); // V 1024, D 256
  rt::TensorMap w = initializeParameters(c, 11);
  const double std = 1.0 / 16.0;
  for (const char *name : {"embed.weight", "output.output.weight"}) {
    SCOPED_TRACE(name);
    std::vector<double> v = valuesOf(w, name);
    expectMoments(v, std * truncatedStd(3.0), 0.02);
    EXPECT_LE(moments(v).maxAbs, 3.0 * std * (1 + 1e-6));
  }
}

TEST(InitializeParameters, ZerosAndConstants) {
  ModelConfig c = tinyConfig();
  c.rescale_nffn = true;
  c.num_layers = 3;
  rt::TensorMap w = initializeParameters(c, 3);
  for (const auto &[name, tensor] : w) {
    llvm::StringRef n = name;
    const bool zero = n.ends_with(".bias") || n.contains("norm.weight") ||
                      n.ends_with("mega.gamma") || n.ends_with("mega.beta") ||
                      n.contains(".prior_");
    if (!zero)
      continue;
    for (double v : tensor.toF64())
      ASSERT_EQ(v, 0.0) << name;
  }
  for (int l = 0; l < 3; ++l) {
    const float expected = static_cast<float>(0.1 * std::pow(0.5, l));
    for (double v : valuesOf(w, "layers." + std::to_string(l) + ".nffn.alpha"))
      ASSERT_EQ(v, expected) << "layer " << l;
  }
  const HostTensor &count = w.at("layers.2.mega.timenorm.prior_count");
  EXPECT_EQ(count.dtype, DType::I64);
  EXPECT_TRUE(count.shape.empty());
  EXPECT_EQ(count.toF64(), std::vector<double>{0.0});
}

TEST(InitializeParameters, RopeFreqs) {
  ModelConfig c = tinyConfig(); // dz 16
  c.rope_base = 500000.0;
  std::vector<double> f = valuesOf(initializeParameters(c, 0), "rope.freqs");
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f[0], 1.0);
  for (int j = 0; j < 8; ++j)
    EXPECT_EQ(f[j], static_cast<float>(std::pow(500000.0, -2.0 * j / 16.0)))
        << j;
}

TEST(InitializeParameters, Cema) {
  ModelConfig c = loadExample("small.json"); // D 256, N 16
  rt::TensorMap w = initializeParameters(c, 99);
  const int64_t D = 256;
  for (const char *name :
       {"layers.0.mega.cema.alpha", "layers.0.mega.cema.delta"}) {
    SCOPED_TRACE(name);
    expectMoments(valuesOf(w, name), 0.2, 0.05);
  }
  {
    SCOPED_TRACE("omega");
    std::vector<double> omega = valuesOf(w, "layers.1.mega.cema.omega");
    EXPECT_LE(moments(omega).maxAbs, 1.0);
    expectMoments(omega, 0.25 * truncatedStd(4.0), 0.15);
  }
  {
    SCOPED_TRACE("gamma");
    std::vector<double> gamma = valuesOf(w, "layers.2.mega.cema.gamma");
    std::vector<double> real;
    for (size_t i = 0; i < gamma.size(); ++i) {
      if (i % 2)
        ASSERT_EQ(gamma[i], 0.0) << "imaginary part " << i;
      else
        real.push_back(gamma[i]);
    }
    expectMoments(real, 1.0, 0.05);
  }
  {
    SCOPED_TRACE("theta");
    std::vector<double> theta = valuesOf(w, "layers.3.mega.cema.theta");
    ASSERT_EQ(int64_t(theta.size()), D);
    std::vector<double> expected;
    for (int64_t k = 1; k <= D; ++k) {
      const double f = std::exp(-double(k) * std::log(double(D)) / D);
      expected.push_back(static_cast<float>(std::log(f / (1 - f))));
    }
    std::vector<double> sorted = theta;
    std::sort(sorted.begin(), sorted.end());
    std::sort(expected.begin(), expected.end());
    for (int64_t i = 0; i < D; ++i)
      EXPECT_NEAR(sorted[i], expected[i], 1e-6 * (1 + std::fabs(expected[i])))
          << i;
    // sigma(theta) spans (1/D, 1): the extremes are 1/D and exp(-ln D / D).
    EXPECT_NEAR(1 / (1 + std::exp(-sorted.front())), 1.0 / D, 1e-6);
    // A random permutation, not the sorted order (either direction).
    std::vector<double> reversed(sorted.rbegin(), sorted.rend());
    EXPECT_NE(theta, sorted);
    EXPECT_NE(theta, reversed);
    // Different layers draw different permutations.
    EXPECT_NE(theta, valuesOf(w, "layers.0.mega.cema.theta"));
  }
}

TEST(InitializeParameters, ThetaFiniteForSingleChannel) {
  ModelConfig c = tinyConfig();
  c.model_dim = 1;
  c.norm_num_groups = 1;
  rt::TensorMap w = initializeParameters(c, 1);
  for (double v : valuesOf(w, "layers.0.mega.cema.theta"))
    EXPECT_TRUE(std::isfinite(v));
}

TEST(InitializeParameters, SharedEmbeddingHasBothKeys) {
  ModelConfig c = tinyConfig();
  c.share_emb = true;
  rt::TensorMap w = initializeParameters(c, 8);
  ASSERT_TRUE(w.count("embed.weight") && w.count("output.output.weight"));
  EXPECT_EQ(w.at("embed.weight").bytes, w.at("output.output.weight").bytes);
  EXPECT_EQ(w.at("output.output.weight").shape,
            (std::vector<int64_t>{256, 64}));
  EXPECT_TRUE(checkParameters(c, w).ok()) << checkParameters(c, w).message();
  // The embedding itself does not depend on sharing.
  EXPECT_EQ(w.at("embed.weight").bytes,
            initializeParameters(tinyConfig(), 8).at("embed.weight").bytes);
}

//===----------------------------------------------------------------------===//
// checkParameters
//===----------------------------------------------------------------------===//

HostTensor toBF16(const HostTensor &t) {
  HostTensor out = HostTensor::zeros(DType::BF16, t.shape);
  std::vector<double> values = t.toF64();
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t bits = rt::floatToBF16(static_cast<float>(values[i]));
    std::memcpy(out.bytes.data() + 2 * i, &bits, 2);
  }
  return out;
}

TEST(CheckParameters, AcceptsGoodMaps) {
  ModelConfig c = tinyConfig();
  rt::TensorMap w = initializeParameters(c, 1);
  ASSERT_TRUE(checkParameters(c, w).ok()) << checkParameters(c, w).message();
  // BF16 parameters and buffers of any float dtype or I64 are fine.
  w["layers.0.mega.wv.weight"] = toBF16(w["layers.0.mega.wv.weight"]);
  w["rope.freqs"] = HostTensor::fromF64({8}, std::vector<double>(8, 1.0));
  w["layers.0.mega.timenorm.prior_mean"] =
      toBF16(w["layers.0.mega.timenorm.prior_mean"]);
  w["output.final_norm.prior_count"] = HostTensor::zeros(DType::F32, {});
  w["output.final_norm.prior_logv"] = HostTensor::zeros(DType::I64, {4});
  EXPECT_TRUE(checkParameters(c, w).ok()) << checkParameters(c, w).message();

  // Shared weights may be stored in different dtypes if the values agree.
  ModelConfig shared = c;
  shared.share_emb = true;
  rt::TensorMap s = initializeParameters(shared, 1);
  s["embed.weight"] = toBF16(s["embed.weight"]);
  s["output.output.weight"] = toBF16(s["output.output.weight"]);
  HostTensor asF32 = HostTensor::fromF32({256, 64}, [&] {
    std::vector<double> d = s["embed.weight"].toF64();
    return std::vector<float>(d.begin(), d.end());
  }());
  s["output.output.weight"] = asF32;
  EXPECT_TRUE(checkParameters(shared, s).ok())
      << checkParameters(shared, s).message();
}

TEST(CheckParameters, RejectsBadMaps) {
  const ModelConfig c = tinyConfig();
  const rt::TensorMap good = initializeParameters(c, 1);
  struct Case {
    const char *what;
    std::function<void(rt::TensorMap &)> mutate;
    std::string expected;
  };
  const std::string wv = "layers.0.mega.wv.weight";
  const Case cases[] = {
      {"missing", [](rt::TensorMap &w) { w.erase("layers.1.nffn.fc2.weight"); },
       "weights: missing tensor 'layers.1.nffn.fc2.weight'"},
      {"missing buffer",
       [](rt::TensorMap &w) { w.erase("output.final_norm.prior_count"); },
       "weights: missing tensor 'output.final_norm.prior_count'"},
      {"extra",
       [](rt::TensorMap &w) {
         w["layers.0.nffn.fc3.weight"] =
             HostTensor::zeros(DType::F32, {128, 64});
       },
       "weights: unexpected tensor 'layers.0.nffn.fc3.weight'"},
      {"wrong shape",
       [&](rt::TensorMap &w) {
         w[wv].shape = {64, 128};
       },
       "weights: tensor 'layers.0.mega.wv.weight' has shape [64, 128], "
       "expected [128, 64]"},
      {"wrong rank",
       [](rt::TensorMap &w) {
         w["layers.1.mega.cema.theta"] = HostTensor::zeros(DType::F32, {64});
       },
       "weights: tensor 'layers.1.mega.cema.theta' has shape [64], expected "
       "[64, 1, 1]"},
      {"scalar buffer shape",
       [](rt::TensorMap &w) {
         w["layers.0.mega.timenorm.prior_count"] =
             HostTensor::zeros(DType::I64, {1});
       },
       "weights: tensor 'layers.0.mega.timenorm.prior_count' has shape [1], "
       "expected []"},
      {"param dtype F64",
       [&](rt::TensorMap &w) {
         w[wv] = HostTensor::zeros(DType::F64, {128, 64});
       },
       "weights: tensor 'layers.0.mega.wv.weight' has dtype F64, expected F32 "
       "or BF16"},
      {"param dtype I64",
       [](rt::TensorMap &w) {
         w["embed.weight"] = HostTensor::zeros(DType::I64, {256, 64});
       },
       "weights: tensor 'embed.weight' has dtype I64"},
      {"buffer dtype I32",
       [](rt::TensorMap &w) {
         w["rope.freqs"] = HostTensor::zeros(DType::I32, {8});
       },
       "weights: tensor 'rope.freqs' has dtype I32, expected F32, BF16, F64 "
       "or I64"},
      {"nonzero prior_count",
       [](rt::TensorMap &w) {
         w["layers.1.mega.timenorm.prior_count"] = HostTensor::fromI64({}, {3});
       },
       "weights: buffer 'layers.1.mega.timenorm.prior_count' is 3, only 0 is "
       "supported"},
      {"byte count", [&](rt::TensorMap &w) { w[wv].bytes.pop_back(); },
       "weights: tensor 'layers.0.mega.wv.weight' holds"},
  };
  for (const Case &bad : cases) {
    SCOPED_TRACE(bad.what);
    rt::TensorMap w = good;
    bad.mutate(w);
    rt::Status status = checkParameters(c, w);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find(bad.expected), std::string::npos)
        << "message: " << status.message() << "\nexpected: " << bad.expected;
  }
}

TEST(CheckParameters, SharedWeightsMustAgree) {
  ModelConfig c = tinyConfig();
  c.share_emb = true;
  rt::TensorMap w = initializeParameters(c, 4);
  w["output.output.weight"].f32()[17] += 1.0f;
  rt::Status status = checkParameters(c, w);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'output.output.weight' differs from "
                                  "'embed.weight'"),
            std::string::npos)
      << status.message();

  // Both keys are required, as in a reference checkpoint.
  w.erase("output.output.weight");
  status = checkParameters(c, w);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("missing tensor 'output.output.weight'"),
            std::string::npos)
      << status.message();
}

TEST(CheckParameters, ConfigMismatchAndInvalidConfig) {
  // Weights of one config do not pass for another.
  rt::TensorMap w = initializeParameters(tinyConfig(), 1);
  ModelConfig swiglu = tinyConfig();
  swiglu.swiglu = true;
  rt::Status status = checkParameters(swiglu, w);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("missing tensor 'layers.0.nffn.fc3.weight'"),
            std::string::npos)
      << status.message();

  ModelConfig invalid = tinyConfig();
  invalid.num_heads = 3;
  status = checkParameters(invalid, w);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("key 'z_dim'"), std::string::npos)
      << status.message();
}

} // namespace
