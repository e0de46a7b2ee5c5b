//===- StreamingTest.cpp - @decode_step in pieces == @forward -------------===//
//
// Feeding a sequence through @decode_step in any legal pieces, carrying the
// state, must reproduce the logits of one @forward call over the whole
// sequence (MODEL.md section 7), across several chunk boundaries.
//
//===----------------------------------------------------------------------===//

#include "ModelTestUtils.h"

#include "llvm/ADT/StringRef.h"
#include "gtest/gtest.h"

#include <cmath>
#include <map>

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

constexpr int64_t kBatch = 2;

/// The state of a fresh stream, in @decode_step argument order.
std::vector<RefValue> freshState(const ModelConfig &config) {
  std::vector<RefValue> state;
  for (const StateSpec &s : decodeStateSpecs(config, kBatch)) {
    int64_t n = 1;
    for (int64_t d : s.shape)
      n *= d;
    if (s.elementType == "i64")
      state.push_back(RefValue::integerTensor(s.shape, std::vector<int64_t>(n)));
    else if (s.elementType == "complex<f32>")
      state.push_back(
          RefValue::complexTensor(s.shape, std::vector<ref::cdouble>(n)));
    else
      state.push_back(RefValue::realTensor(
          s.shape,
          std::vector<double>(n, llvm::StringRef(s.name).ends_with(".var")
                                     ? 1.0
                                     : 0.0)));
  }
  return state;
}

class StreamingTest : public ::testing::Test {
protected:
  void SetUp() override {
    loadModelDialects(context);
    config = tinyConfig();
    weights = perturbedWeights(config, 3);
    C = config.chunk_size;
    L = 4 * C;
    tokens = randomTokens(kBatch * L, config.vocab_size, 11);

    BuildOptions options;
    options.batch = kBatch;
    options.seqLen = L;
    options.emitLoss = options.emitDecode = false;
    mlir::func::FuncOp forward =
        buildFunc(context, config, options, "forward", forwardModule);
    ASSERT_TRUE(forward);
    std::vector<RefValue> args = {RefValue::integerTensor({kBatch, L}, tokens)};
    for (RefValue &p : parameterArgs(forward, weights))
      args.push_back(std::move(p));
    auto results = ref::interpret(forward, std::move(args));
    ASSERT_TRUE(static_cast<bool>(results)) << llvm::toString(results.takeError());
    fullLogits = (*results)[0].real;
  }

  /// The @decode_step function for pieces of `len` tokens (built once).
  mlir::func::FuncOp decodeFunc(int64_t len) {
    auto it = decodeModules.find(len);
    if (it == decodeModules.end()) {
      BuildOptions options;
      options.batch = kBatch;
      options.decodeLen = len;
      options.emitForward = options.emitLoss = false;
      mlir::OwningOpRef<mlir::ModuleOp> holder;
      buildFunc(context, config, options, "decode_step", holder);
      it = decodeModules.emplace(len, std::move(holder)).first;
    }
    return it->second->lookupSymbol<mlir::func::FuncOp>("decode_step");
  }

  /// Tokens [kBatch, len] starting at position `start` of each row.
  RefValue tokenSlice(int64_t start, int64_t len) {
    std::vector<int64_t> slice;
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t t = start; t < start + len; ++t)
        slice.push_back(tokens[b * L + t]);
    return RefValue::integerTensor({kBatch, len}, slice);
  }

  /// Streams the sequence in `pieces` and compares every logit.
  void checkPieces(const std::vector<int64_t> &pieces) {
    int64_t V = config.vocab_size;
    std::vector<RefValue> state = freshState(config);
    int64_t pos = 0;
    double maxErr = 0;
    for (int64_t len : pieces) {
      mlir::func::FuncOp decode = decodeFunc(len);
      ASSERT_TRUE(decode);
      std::vector<RefValue> args = {tokenSlice(pos, len)};
      args.insert(args.end(), state.begin(), state.end());
      for (RefValue &p : parameterArgs(decode, weights))
        args.push_back(std::move(p));
      auto results = ref::interpret(decode, std::move(args));
      ASSERT_TRUE(static_cast<bool>(results))
          << llvm::toString(results.takeError());
      const std::vector<double> &logits = (*results)[0].real;
      for (int64_t b = 0; b < kBatch; ++b)
        for (int64_t t = 0; t < len; ++t)
          for (int64_t v = 0; v < V; ++v) {
            double got = logits[(b * len + t) * V + v];
            double want = fullLogits[(b * L + pos + t) * V + v];
            maxErr = std::max(maxErr, std::abs(got - want));
          }
      state.assign(results->begin() + 1, results->end());
      pos += len;
      // The cache holds exactly the tokens of the unfinished chunk.
      ASSERT_EQ(state[0].integer[0], pos % C) << "after position " << pos;
    }
    ASSERT_EQ(pos, L);
    EXPECT_LT(maxErr, 1e-10);
  }

  mlir::MLIRContext context;
  ModelConfig config;
  rt::TensorMap weights;
  int64_t C = 0, L = 0;
  std::vector<int64_t> tokens;
  std::vector<double> fullLogits;
  mlir::OwningOpRef<mlir::ModuleOp> forwardModule;
  std::map<int64_t, mlir::OwningOpRef<mlir::ModuleOp>> decodeModules;
};

TEST_F(StreamingTest, OneTokenAtATime) {
  checkPieces(std::vector<int64_t>(L, 1));
}

TEST_F(StreamingTest, WholeChunks) { checkPieces({C, C, C, C}); }

TEST_F(StreamingTest, SeveralChunksPerCall) { checkPieces({2 * C, 2 * C}); }

TEST_F(StreamingTest, RaggedPiecesThatCompleteChunks) {
  checkPieces({5, C - 5, 3, C - 3, 1, C - 1, C});
}

TEST_F(StreamingTest, MixedPieces) {
  checkPieces({7, C - 7, 2 * C, 2, 2, C - 4});
}

TEST_F(StreamingTest, PrefillThenDecode) {
  std::vector<int64_t> pieces = {2 * C, 3};
  for (int64_t i = 2 * C + 3; i < L; ++i)
    pieces.push_back(1);
  checkPieces(pieces);
}

TEST_F(StreamingTest, CacheEmptiesAtChunkBoundary) {
  // After a whole chunk the caches are all zeros and the length is 0.
  mlir::func::FuncOp decode = decodeFunc(C);
  std::vector<RefValue> args = {tokenSlice(0, C)};
  std::vector<RefValue> state = freshState(config);
  args.insert(args.end(), state.begin(), state.end());
  for (RefValue &p : parameterArgs(decode, weights))
    args.push_back(std::move(p));
  auto results = ref::interpret(decode, std::move(args));
  ASSERT_TRUE(static_cast<bool>(results)) << llvm::toString(results.takeError());
  std::vector<StateSpec> specs = decodeStateSpecs(config, kBatch);
  EXPECT_EQ((*results)[1].integer[0], 0);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!llvm::StringRef(specs[i].name).contains("_cache"))
      continue;
    for (double v : (*results)[i + 1].real)
      ASSERT_EQ(v, 0.0) << specs[i].name;
  }
}

TEST_F(StreamingTest, PieceCrossingAChunkBoundaryIsAnError) {
  // 10 cached tokens + 10 new ones would cross the boundary at 16.
  std::vector<RefValue> state = freshState(config);
  state[0].integer[0] = 10;
  mlir::func::FuncOp decode = decodeFunc(10);
  std::vector<RefValue> args = {tokenSlice(0, 10)};
  args.insert(args.end(), state.begin(), state.end());
  for (RefValue &p : parameterArgs(decode, weights))
    args.push_back(std::move(p));
  auto results = ref::interpret(decode, std::move(args));
  ASSERT_FALSE(static_cast<bool>(results));
  EXPECT_NE(llvm::toString(results.takeError()).find("crosses the chunk"),
            std::string::npos);
}

} // namespace
