//===- SegmentChainTest.cpp - @segment_loss chains vs the whole sequence --===//
//
// Chunk-parallel training splits a sequence into segments that hand their
// timestep-norm and CEMA state forward and its gradient back. Here the
// chain runs in one process: two compiled @segment_loss_grad calls, linked
// by the state of a forward-only @segment_loss and by the returned state
// gradient, must give the loss and the gradients of @loss_grad on the whole
// sequence. Tolerances: the loss to 1e-6 and every gradient to 1e-5,
// relative, in the 2-norm of the difference over the 2-norm of the whole
// sequence's tensor (fp32 sums in a different order).
//
//===----------------------------------------------------------------------===//

#include "ModelTestUtils.h"

#include "Common/TensorCompare.h"

#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Driver/Trainer.h"
#include "megalodon/Model/DecodeState.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace megalodon;
using namespace megalodon::testing;

namespace {

constexpr int64_t kBatch = 2;

rt::HostTensor columns(const std::vector<int64_t> &tokens, int64_t length,
                       int64_t first, int64_t count) {
  rt::HostTensor t = rt::HostTensor::zeros(rt::DType::I32, {kBatch, count});
  auto *out = reinterpret_cast<int32_t *>(t.bytes.data());
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t i = 0; i < count; ++i)
      out[b * count + i] = static_cast<int32_t>(tokens[b * length + first + i]);
  return t;
}

TEST(SegmentChainTest, TwoSegmentsEqualTheWholeSequence) {
  ModelConfig config = tinyConfig();
  int64_t segment = 2 * config.chunk_size, whole = 2 * segment;
  rt::TensorMap weights = perturbedWeights(config, 5);
  std::vector<int64_t> tokens =
      randomTokens(kBatch * whole, config.vocab_size, 41);
  std::vector<int64_t> targets =
      randomTokens(kBatch * whole, config.vocab_size, 42);
  CpuCompileOptions compile;
  compile.cacheDir = ::testing::TempDir() + "megalodon-segment-artifacts";

  // The whole sequence.
  auto reference = CompiledTrainer::create(config, kBatch, whole,
                                           OptimizerOptions(), compile, true);
  ASSERT_TRUE(static_cast<bool>(reference))
      << llvm::toString(reference.takeError());
  TrainState state = TrainState::fresh(config, weights);
  rt::TensorMap expected;
  auto expectedLoss = (*reference)->gradients(
      state, columns(tokens, whole, 0, whole), columns(targets, whole, 0, whole),
      expected);
  ASSERT_TRUE(static_cast<bool>(expectedLoss))
      << llvm::toString(expectedLoss.takeError());

  // The segment functions.
  mlir::MLIRContext context;
  BuildOptions build;
  build.batch = kBatch;
  build.seqLen = segment;
  build.emitForward = build.emitLoss = build.emitDecode = false;
  build.emitSegmentLoss = true;
  auto module = buildModelModule(context, config, build);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  ASSERT_FALSE(static_cast<bool>(
      addTrainingFunctions(**module, OptimizerOptions(), "segment_loss",
                           /*applyGradients=*/true)));
  auto forward =
      CompiledFunction::create(**module, "segment_loss", weights, compile);
  ASSERT_TRUE(static_cast<bool>(forward)) << llvm::toString(forward.takeError());
  auto backward =
      CompiledFunction::create(**module, "segment_loss_grad", weights, compile);
  ASSERT_TRUE(static_cast<bool>(backward))
      << llvm::toString(backward.takeError());

  // The fresh state, and zero cotangents for the last segment's state.
  std::vector<StateSpec> specs = segmentStateSpecs(config, kBatch);
  std::vector<rt::HostTensor> fresh, zeros;
  for (const StateSpec &spec : specs) {
    fresh.push_back(freshStateTensor(spec));
    if (spec.elementType != "i64")
      zeros.push_back(rt::HostTensor::zeros(stateDType(spec), spec.shape));
  }
  std::vector<rt::HostTensor> pieces[2][2];
  for (int s = 0; s < 2; ++s) {
    pieces[s][0] = {columns(tokens, whole, s * segment, segment)};
    pieces[s][1] = {columns(targets, whole, s * segment, segment)};
  }
  auto pointers = [](std::vector<std::vector<rt::HostTensor> *> groups) {
    std::vector<const rt::HostTensor *> out;
    for (auto *group : groups)
      for (const rt::HostTensor &t : *group)
        out.push_back(&t);
    return out;
  };

  // Segment 0 forward: its final state starts segment 1.
  auto first = (*forward)->call(pointers({&pieces[0][0], &pieces[0][1], &fresh}));
  ASSERT_TRUE(static_cast<bool>(first)) << llvm::toString(first.takeError());
  std::vector<rt::HostTensor> carried(first->begin() + 1, first->end());
  ASSERT_EQ(carried.size(), specs.size());

  // Segment 1 backward from zero cotangents; the gradient of its incoming
  // state is segment 0's cotangent.
  auto second = (*backward)->call(
      pointers({&pieces[1][0], &pieces[1][1], &carried, &zeros}));
  ASSERT_TRUE(static_cast<bool>(second)) << llvm::toString(second.takeError());
  size_t numParams = expected.size();
  ASSERT_EQ(second->size(), 1 + numParams + zeros.size());
  std::vector<rt::HostTensor> stateGrads(second->begin() + 1 + numParams,
                                         second->end());
  auto firstGrad = (*backward)->call(
      pointers({&pieces[0][0], &pieces[0][1], &fresh, &stateGrads}));
  ASSERT_TRUE(static_cast<bool>(firstGrad))
      << llvm::toString(firstGrad.takeError());

  // Equal segments: the whole sequence's mean is the mean of the two.
  double loss = 0.5 * ((*firstGrad)[0].f32()[0] + (*second)[0].f32()[0]);
  EXPECT_NEAR(loss, *expectedLoss, 1e-6 * std::abs(*expectedLoss));
  size_t index = 1;
  for (const rt::TensorSpec &spec : (*backward)->entry().results) {
    llvm::StringRef name(spec.name);
    if (!name.consume_front("grad.") || !expected.count(name.str()))
      continue;
    rt::HostTensor sum = (*firstGrad)[index];
    for (int64_t i = 0; i < sum.numel(); ++i)
      sum.f32()[i] = 0.5f * (sum.f32()[i] + (*second)[index].f32()[i]);
    EXPECT_LE(relativeError(sum, expected.at(name.str())), 1e-5) << spec.name;
    ++index;
  }
  EXPECT_EQ(index, 1 + numParams);
}

} // namespace
