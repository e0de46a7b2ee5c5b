//===- CompiledStreamingTest.cpp - Compiled prefill/decode == forward -----===//
//
// Streaming through compiled @prefill / @decode_step with the carried state,
// in several legal piece patterns across more than 10 chunk boundaries, must
// reproduce the logits of one compiled @forward call (fp32, max abs error
// <= 1e-4) and of the fp64 reference (same bound). Saved and restored states
// continue identically; a state of another config is rejected.
//
//===----------------------------------------------------------------------===//

#include "ModelTestUtils.h"

#include "megalodon/Driver/StreamingModel.h"
#include "megalodon/runtime/Safetensors.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace megalodon;
using namespace megalodon::testing;

namespace {

class CompiledStreamingTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    config = tinyConfig();
    weights = perturbedWeights(config, 9);
    L = 11 * config.chunk_size;
    std::vector<int64_t> t = randomTokens(L, config.vocab_size, 31);
    tokens.assign(t.begin(), t.end());
    options.cacheDir = ::testing::TempDir() + "megalodon-streaming-artifacts";

    mlir::MLIRContext context;
    loadModelDialects(context);
    BuildOptions build;
    build.seqLen = L;
    build.emitLoss = build.emitDecode = false;
    mlir::OwningOpRef<mlir::ModuleOp> module;
    mlir::func::FuncOp forward =
        buildFunc(context, config, build, "forward", module);
    ASSERT_TRUE(forward);
    std::vector<ref::RefValue> args = {ref::RefValue::integerTensor({1, L}, t)};
    for (ref::RefValue &p : parameterArgs(forward, weights))
      args.push_back(std::move(p));
    auto refResults = ref::interpret(forward, std::move(args));
    ASSERT_TRUE(static_cast<bool>(refResults))
        << llvm::toString(refResults.takeError());
    referenceLogits = (*refResults)[0].real;

    auto compiled = CompiledFunction::create(*module, "forward", weights, options);
    ASSERT_TRUE(static_cast<bool>(compiled))
        << llvm::toString(compiled.takeError());
    rt::HostTensor input = rt::HostTensor::zeros(rt::DType::I32, {1, L});
    std::memcpy(input.bytes.data(), tokens.data(), L * sizeof(int32_t));
    auto logits = (*compiled)->call({&input});
    ASSERT_TRUE(static_cast<bool>(logits)) << llvm::toString(logits.takeError());
    const float *f = (*logits)[0].f32();
    forwardLogits.assign(f, f + L * config.vocab_size);
  }

  std::unique_ptr<StreamingModel> makeModel() {
    auto model = StreamingModel::create(config, weights, options);
    if (!model) {
      ADD_FAILURE() << llvm::toString(model.takeError());
      return nullptr;
    }
    return std::move(*model);
  }

  /// Feeds the sequence in `pieces` and checks every logit.
  void checkPieces(const std::vector<int64_t> &pieces) {
    std::unique_ptr<StreamingModel> model = makeModel();
    ASSERT_TRUE(model);
    int64_t V = config.vocab_size, start = 0;
    double vsForward = 0, vsReference = 0;
    for (int64_t n : pieces) {
      ASSERT_LE(start + n, L);
      auto check = [&](const float *logits, int64_t count, int64_t first) {
        for (int64_t i = 0; i < count * V; ++i) {
          size_t at = (start + first) * V + i;
          vsForward = std::max(
              vsForward, std::abs(double(logits[i]) - forwardLogits[at]));
          vsReference = std::max(
              vsReference, std::abs(double(logits[i]) - referenceLogits[at]));
        }
        return llvm::Error::success();
      };
      llvm::ArrayRef<int32_t> piece(tokens.data() + start, n);
      ASSERT_FALSE(static_cast<bool>(model->feed(piece, check)));
      start += n;
      ASSERT_EQ(model->position(), start);
    }
    ASSERT_EQ(start, L);
    RecordProperty("max_abs_vs_forward", std::to_string(vsForward));
    RecordProperty("max_abs_vs_reference", std::to_string(vsReference));
    EXPECT_LE(vsForward, 1e-4);
    EXPECT_LE(vsReference, 1e-4);
  }

  static ModelConfig config;
  static rt::TensorMap weights;
  static int64_t L;
  static std::vector<int32_t> tokens;
  static std::vector<double> forwardLogits, referenceLogits;
  static CpuCompileOptions options;
};

ModelConfig CompiledStreamingTest::config;
rt::TensorMap CompiledStreamingTest::weights;
int64_t CompiledStreamingTest::L;
std::vector<int32_t> CompiledStreamingTest::tokens;
std::vector<double> CompiledStreamingTest::forwardLogits;
std::vector<double> CompiledStreamingTest::referenceLogits;
CpuCompileOptions CompiledStreamingTest::options;

TEST_F(CompiledStreamingTest, AllAtOnce) { checkPieces({L}); }

TEST_F(CompiledStreamingTest, OneTokenAtATime) {
  checkPieces(std::vector<int64_t>(L, 1));
}

TEST_F(CompiledStreamingTest, RaggedPieces) {
  int64_t C = config.chunk_size;
  checkPieces({5, 20, 1, 3 * C + 2, 7, 30, C, 1, L - (5 + 20 + 1 + 3 * C + 2 + 7 + 30 + C + 1)});
}

TEST_F(CompiledStreamingTest, CacheEmptiesAtChunkBoundaries) {
  std::unique_ptr<StreamingModel> model = makeModel();
  ASSERT_TRUE(model);
  std::string path = ::testing::TempDir() + "boundary.state";
  for (int64_t fed : {3, 13, 16, 5}) {
    ASSERT_FALSE(static_cast<bool>(
        model->feed(llvm::ArrayRef<int32_t>(tokens.data(), fed))));
    ASSERT_FALSE(static_cast<bool>(model->saveState(path)));
    rt::TensorMap state;
    ASSERT_TRUE(rt::readSafetensors(path, state).ok());
    int64_t len =
        reinterpret_cast<const int64_t *>(state["cache_len"].bytes.data())[0];
    EXPECT_EQ(len, model->position() % config.chunk_size);
    if (len == 0) {
      std::vector<double> keys = state["layers.0.attn.k_cache"].toF64();
      for (double k : keys)
        ASSERT_EQ(k, 0.0);
    }
  }
}

// A model restored from a saved state continues bit for bit like the model
// that saved it. (Against one uninterrupted feed the logits agree only to
// rounding: a split mid-chunk runs that chunk's attention in the decoding
// form rather than the blocked training form; checkPieces bounds that.)
TEST_F(CompiledStreamingTest, SavedStateContinuesIdentically) {
  int64_t split = 3 * config.chunk_size + 9;
  std::unique_ptr<StreamingModel> resumed = makeModel();
  ASSERT_TRUE(resumed);
  std::vector<float> expected, got;
  auto collect = [&](std::vector<float> &into) {
    return [&into](const float *l, int64_t n, int64_t) {
      into.insert(into.end(), l, l + n * config.vocab_size);
      return llvm::Error::success();
    };
  };
  ASSERT_FALSE(static_cast<bool>(
      resumed->feed(llvm::ArrayRef<int32_t>(tokens.data(), split))));
  std::string path = ::testing::TempDir() + "resume.state";
  ASSERT_FALSE(static_cast<bool>(resumed->saveState(path)));
  std::unique_ptr<StreamingModel> fresh = makeModel();
  ASSERT_TRUE(fresh);
  llvm::Error loaded = fresh->loadState(path);
  ASSERT_FALSE(static_cast<bool>(loaded)) << llvm::toString(std::move(loaded));
  EXPECT_EQ(fresh->position(), split);
  EXPECT_EQ(fresh->lastLogits().vec(), resumed->lastLogits().vec());
  llvm::ArrayRef<int32_t> rest =
      llvm::ArrayRef<int32_t>(tokens).drop_front(split);
  ASSERT_FALSE(static_cast<bool>(resumed->feed(rest, collect(expected))));
  ASSERT_FALSE(static_cast<bool>(fresh->feed(rest, collect(got))));
  ASSERT_EQ(got.size(), rest.size() * config.vocab_size);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], expected[i]) << "at " << i;
}

TEST_F(CompiledStreamingTest, StateOfAnotherConfigIsRejected) {
  std::unique_ptr<StreamingModel> model = makeModel();
  ASSERT_TRUE(model);
  ASSERT_FALSE(static_cast<bool>(
      model->feed(llvm::ArrayRef<int32_t>(tokens.data(), 4))));
  std::string path = ::testing::TempDir() + "other.state";
  ASSERT_FALSE(static_cast<bool>(model->saveState(path)));
  // Same tensors, different config metadata.
  rt::TensorMap state;
  std::map<std::string, std::string> metadata;
  ASSERT_TRUE(rt::readSafetensors(path, state, &metadata).ok());
  ModelConfig other = config;
  other.norm_eps = 1e-6;
  metadata["config"] = modelConfigToJson(other);
  ASSERT_TRUE(rt::writeSafetensors(path, state, metadata).ok());
  llvm::Error err = model->loadState(path);
  ASSERT_TRUE(static_cast<bool>(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("different model config"),
            std::string::npos);
  EXPECT_EQ(model->position(), 4); // untouched
  // Not a state file at all.
  err = model->loadState(path + ".missing");
  EXPECT_TRUE(static_cast<bool>(err));
  llvm::consumeError(std::move(err));
}

} // namespace
