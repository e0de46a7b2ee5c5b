//===- CheckpointTest.cpp - Crash-safe training checkpoints ---------------===//

#include "megalodon/runtime/Checkpoint.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace megalodon::rt;
namespace fs = std::filesystem;

namespace {

/// A checkpoint whose every part depends on `step`.
Checkpoint makeCheckpoint(int64_t step) {
  Checkpoint c;
  c.configJson = "{\"model\": " + std::to_string(step) + "}";
  c.model["w"] = HostTensor::fromF32({2, 3}, std::vector<float>(6, 0.5f * step));
  c.optimizer["exp_avg.w"] = HostTensor::fromF32({2, 3}, std::vector<float>(6, 1.0f * step));
  c.optimizer["exp_avg_sq.w"] = HostTensor::fromF32({2, 3}, std::vector<float>(6, 2.0f * step));
  c.trainerJson = "{\"step\": " + std::to_string(step) + "}";
  return c;
}

class CheckpointTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::path(::testing::TempDir()) /
          ("megalodon-checkpoint-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  /// Loads `dir`'s latest checkpoint and checks it is the one of `step`.
  void expectLatest(int64_t step) {
    Checkpoint loaded;
    std::string resolved;
    Status s = loadCheckpoint(dir.string(), loaded, &resolved);
    ASSERT_TRUE(s.ok()) << s.message();
    Checkpoint want = makeCheckpoint(step);
    EXPECT_EQ(loaded.configJson, want.configJson);
    EXPECT_EQ(loaded.trainerJson, want.trainerJson);
    ASSERT_EQ(loaded.model.count("w"), 1u);
    EXPECT_EQ(loaded.model["w"].toF64(), want.model["w"].toF64());
    EXPECT_EQ(loaded.optimizer["exp_avg_sq.w"].toF64(),
              want.optimizer["exp_avg_sq.w"].toF64());
    EXPECT_NE(resolved.find("checkpoint-"), std::string::npos);
  }

  fs::path dir;
};

TEST_F(CheckpointTest, RoundTripsThroughLatest) {
  ASSERT_TRUE(saveCheckpoint(dir.string(), 7, makeCheckpoint(7)).ok());
  expectLatest(7);
  // A checkpoint directory can be named directly too.
  Checkpoint direct;
  ASSERT_TRUE(
      loadCheckpoint((dir / "checkpoint-00000007").string(), direct).ok());
  EXPECT_EQ(direct.trainerJson, makeCheckpoint(7).trainerJson);
}

TEST_F(CheckpointTest, KeepsTheNewestCheckpoints) {
  for (int64_t step : {1, 2, 3, 4})
    ASSERT_TRUE(saveCheckpoint(dir.string(), step, makeCheckpoint(step), 2).ok());
  expectLatest(4);
  EXPECT_FALSE(fs::exists(dir / "checkpoint-00000001"));
  EXPECT_FALSE(fs::exists(dir / "checkpoint-00000002"));
  EXPECT_TRUE(fs::exists(dir / "checkpoint-00000003"));
  EXPECT_TRUE(fs::exists(dir / "checkpoint-00000004"));
}

TEST_F(CheckpointTest, ResavingAStepReplacesIt) {
  ASSERT_TRUE(saveCheckpoint(dir.string(), 5, makeCheckpoint(4)).ok());
  ASSERT_TRUE(saveCheckpoint(dir.string(), 5, makeCheckpoint(5)).ok());
  expectLatest(5);
}

TEST_F(CheckpointTest, MissingCheckpointIsAnError) {
  Checkpoint loaded;
  Status s = loadCheckpoint((dir / "nowhere").string(), loaded);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a checkpoint"), std::string::npos)
      << s.message();
}

// A process killed with SIGKILL after each possible number of files of a new
// checkpoint leaves the previous checkpoint as `latest`, loadable; the next
// save cleans up the leftovers.
TEST_F(CheckpointTest, KillDuringSaveLeavesThePreviousCheckpoint) {
  ASSERT_TRUE(saveCheckpoint(dir.string(), 1, makeCheckpoint(1)).ok());
  for (int files = 0; files <= 4; ++files) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::setenv("MEGALODON_CHECKPOINT_KILL_AFTER", std::to_string(files).c_str(),
               1);
      // The save kills the process before it returns a status.
      (void)saveCheckpoint(dir.string(), 2, makeCheckpoint(2));
      ::_exit(0); // Not reached.
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "after " << files << " files";
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    expectLatest(1);
  }
  ASSERT_TRUE(saveCheckpoint(dir.string(), 2, makeCheckpoint(2)).ok());
  expectLatest(2);
  EXPECT_FALSE(fs::exists(dir / "checkpoint-00000002.tmp"));
}

// A save that runs out of space (here: a file-size limit, which fails the
// writes like a full disk) reports the error and leaves the previous
// checkpoint as `latest`.
TEST_F(CheckpointTest, FailedWriteLeavesThePreviousCheckpoint) {
  ASSERT_TRUE(saveCheckpoint(dir.string(), 1, makeCheckpoint(1)).ok());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Writes past the limit fail with EFBIG instead of raising SIGXFSZ.
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {64, 64};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    Checkpoint big = makeCheckpoint(2);
    big.model["w"] = HostTensor::fromF32({64, 64}, std::vector<float>(4096, 1.0f));
    Status s = saveCheckpoint(dir.string(), 2, big);
    bool named = s.message().find("model.safetensors") != std::string::npos;
    ::_exit(!s.ok() && named ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "the save must fail with an error naming the file";
  expectLatest(1);
}

} // namespace
