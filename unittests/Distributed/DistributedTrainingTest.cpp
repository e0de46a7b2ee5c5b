//===- DistributedTrainingTest.cpp - Two processes vs one -----------------===//
//
// Runs under `mpirun -np 2` (ctest does that). Every process also computes
// the single-process result itself, with the ordinary CompiledTrainer on
// the whole global batch, and compares:
//   - data parallel (dp 2): the weights after two steps, 1e-6 relative
//     (all weights together, see expectSameWeights);
//   - chunk parallel (cp 2, a sequence of 2L): the loss to 1e-6 and the
//     gradients to 1e-5 relative, then the weights after a step;
//   - validation losses, and the replica check (which must notice a
//     replica that differs).
// "Relative" is the 2-norm of the difference over the 2-norm of the
// single-process tensor.
//
//===----------------------------------------------------------------------===//

#include "Common/TensorCompare.h"
#include "Common/TinyConfig.h"

#include "megalodon/Driver/DistributedTrainer.h"
#include "megalodon/Model/Parameters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace megalodon;
using namespace megalodon::testing;

namespace {

rt::Communicator *world = nullptr;

rt::HostTensor randomTokens(int64_t batch, int64_t length, int64_t vocab,
                            uint32_t seed) {
  std::mt19937 rng(seed);
  rt::HostTensor t = rt::HostTensor::zeros(rt::DType::I32, {batch, length});
  auto *out = reinterpret_cast<int32_t *>(t.bytes.data());
  for (int64_t i = 0; i < batch * length; ++i)
    out[i] = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
  return t;
}

class DistributedTrainingTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!world || world->size() != 2)
      GTEST_SKIP() << "needs exactly 2 processes (mpirun -np 2)";
    config = tinyConfig();
    // Shared by the processes: rank 0 compiles the distributed artifact and
    // the other loads it. The single-process reference is compiled by each
    // process in its own cache, so no two processes write one artifact.
    shared.cacheDir = ::testing::TempDir() + "megalodon-distributed-artifacts";
    own.cacheDir = shared.cacheDir + "-rank" + std::to_string(world->rank());
    weights = initializeParameters(config, 11);
  }

  std::unique_ptr<DistributedTrainer> distributed(int64_t batch,
                                                  int64_t length, int dp,
                                                  int cp) {
    auto trainer = DistributedTrainer::create(
        config, batch, length, ParallelDegrees{dp, cp}, optimizer, shared,
        *world);
    if (!trainer) {
      ADD_FAILURE() << llvm::toString(trainer.takeError());
      return nullptr;
    }
    return std::move(*trainer);
  }

  std::unique_ptr<CompiledTrainer> single(int64_t batch, int64_t length) {
    auto trainer = CompiledTrainer::create(config, batch, length, optimizer,
                                           own, /*withGradients=*/true);
    if (!trainer) {
      ADD_FAILURE() << llvm::toString(trainer.takeError());
      return nullptr;
    }
    return std::move(*trainer);
  }

  /// The weights are compared all together: a parameter whose gradient is
  /// about AdamW's eps (1e-8; zero-initialized mega.beta here) turns the
  /// rounding differences of its gradient into differences of its update
  /// in the 5th digit, for any two summation orders.
  void expectSameWeights(const TrainState &got, const TrainState &want,
                         double tolerance) {
    EXPECT_EQ(got.step, want.step);
    double diff = 0.0, norm = 0.0;
    for (const auto &[name, tensor] : want.params) {
      const rt::HostTensor &other = got.params.at(name);
      for (int64_t i = 0; i < tensor.numel(); ++i) {
        double d = static_cast<double>(other.f32()[i]) - tensor.f32()[i];
        diff += d * d;
        norm += static_cast<double>(tensor.f32()[i]) * tensor.f32()[i];
      }
    }
    EXPECT_LE(std::sqrt(diff / norm), tolerance);
  }

  ModelConfig config;
  OptimizerOptions optimizer;
  CpuCompileOptions shared, own;
  rt::TensorMap weights;
};

TEST_F(DistributedTrainingTest, DataParallelStepsEqualOneProcess) {
  int64_t batch = 2, length = 2 * config.chunk_size;
  auto dp = distributed(batch, length, 2, 1);
  auto one = single(batch, length);
  ASSERT_TRUE(dp && one);
  TrainState a = TrainState::fresh(config, weights);
  TrainState b = a;
  for (uint32_t step = 0; step < 2; ++step) {
    rt::HostTensor tokens = randomTokens(batch, length, 256, 100 + step);
    rt::HostTensor targets = randomTokens(batch, length, 256, 200 + step);
    auto got = dp->step(a, tokens, targets, 1e-3);
    ASSERT_TRUE(static_cast<bool>(got)) << llvm::toString(got.takeError());
    auto want = one->step(b, tokens, targets, 1e-3);
    ASSERT_TRUE(static_cast<bool>(want)) << llvm::toString(want.takeError());
    EXPECT_NEAR(got->loss, want->loss, 1e-6 * want->loss);
    EXPECT_NEAR(got->gradNorm, want->gradNorm, 1e-5 * want->gradNorm);
  }
  expectSameWeights(a, b, 1e-6);
  EXPECT_FALSE(static_cast<bool>(dp->checkReplicasAgree(a)));

  rt::HostTensor tokens = randomTokens(batch, length, 256, 300);
  auto got = dp->loss(a, tokens, tokens);
  auto want = one->loss(b, tokens, tokens);
  ASSERT_TRUE(got && want);
  EXPECT_NEAR(*got, *want, 1e-6 * *want);
  EXPECT_EQ(dp->allReduceBytesPerStep(),
            4 * countTrainableParameters(config));
  EXPECT_EQ(dp->pointToPointBytesPerStep(), 0);
}

TEST_F(DistributedTrainingTest, ChunkParallelEqualsOneProcessOnTheWhole) {
  int64_t batch = 1, length = 4 * config.chunk_size;
  auto cp = distributed(batch, length, 1, 2);
  auto one = single(batch, length);
  ASSERT_TRUE(cp && one);
  TrainState a = TrainState::fresh(config, weights);
  TrainState b = a;
  rt::HostTensor tokens = randomTokens(batch, length, 256, 400);
  rt::HostTensor targets = randomTokens(batch, length, 256, 401);

  rt::TensorMap got, want;
  auto gotLoss = cp->gradients(a, tokens, targets, got);
  ASSERT_TRUE(static_cast<bool>(gotLoss))
      << llvm::toString(gotLoss.takeError());
  auto wantLoss = one->gradients(b, tokens, targets, want);
  ASSERT_TRUE(static_cast<bool>(wantLoss))
      << llvm::toString(wantLoss.takeError());
  EXPECT_NEAR(*gotLoss, *wantLoss, 1e-6 * *wantLoss);
  ASSERT_EQ(got.size(), want.size());
  for (const auto &[name, tensor] : want)
    EXPECT_LE(relativeError(got.at(name), tensor), 1e-5) << name;

  auto gotStep = cp->step(a, tokens, targets, 1e-3);
  auto wantStep = one->step(b, tokens, targets, 1e-3);
  ASSERT_TRUE(gotStep && wantStep);
  expectSameWeights(a, b, 1e-6);

  auto gotEval = cp->loss(a, tokens, targets);
  auto wantEval = one->loss(b, tokens, targets);
  ASSERT_TRUE(gotEval && wantEval);
  EXPECT_NEAR(*gotEval, *wantEval, 1e-6 * *wantEval);
  // The first part sends the state forward, the second its gradient back.
  EXPECT_GT(cp->pointToPointBytesPerStep(), 0);
}

TEST_F(DistributedTrainingTest, ReplicaCheckNoticesADifference) {
  auto dp = distributed(2, config.chunk_size, 2, 1);
  ASSERT_TRUE(dp);
  TrainState state = TrainState::fresh(config, weights);
  EXPECT_FALSE(static_cast<bool>(dp->checkReplicasAgree(state)));
  if (world->rank() == 1)
    state.params.begin()->second.f32()[0] += 1.0f;
  llvm::Error err = dp->checkReplicasAgree(state);
  ASSERT_TRUE(static_cast<bool>(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("rank 1 holds a different"),
            std::string::npos);
}

TEST_F(DistributedTrainingTest, RejectsLayoutsThatDoNotSplit) {
  auto wrongWorld = DistributedTrainer::create(
      config, 4, config.chunk_size, ParallelDegrees{4, 1}, optimizer, shared,
      *world);
  ASSERT_FALSE(static_cast<bool>(wrongWorld));
  EXPECT_NE(llvm::toString(wrongWorld.takeError())
                .find("must equal the number of processes, 2"),
            std::string::npos);
  // Parts of half a chunk would need attention across processes.
  auto halfChunks = DistributedTrainer::create(
      config, 1, config.chunk_size, ParallelDegrees{1, 2}, optimizer, shared,
      *world);
  ASSERT_FALSE(static_cast<bool>(halfChunks));
  EXPECT_NE(llvm::toString(halfChunks.takeError()).find("multiples of"),
            std::string::npos);
  auto oddBatch = DistributedTrainer::create(
      config, 3, config.chunk_size, ParallelDegrees{2, 1}, optimizer, shared,
      *world);
  ASSERT_FALSE(static_cast<bool>(oddBatch));
}

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::unique_ptr<rt::Communicator> comm;
  if (rt::launchedByMpi()) {
    rt::Status status = rt::createMpiCommunicator(&argc, &argv, 300.0, comm);
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.message().c_str());
      return 1;
    }
    world = comm.get();
  }
  int result = RUN_ALL_TESTS();
  // Every process must pass: a failure on one is a failure of the test.
  if (world) {
    int all[2] = {0, 0};
    int mine = result;
    if (world->size() == 2 &&
        world->allGather(&mine, sizeof(mine), all, "the test results").ok())
      result = all[0] | all[1];
  }
  comm.reset();
  rt::finalizeMpi();
  return result;
}
