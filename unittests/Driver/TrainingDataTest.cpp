//===- TrainingDataTest.cpp - Batches of windows from a token stream ------===//

#include "megalodon/Driver/TrainingData.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <numeric>
#include <set>

using namespace megalodon;

namespace {

/// Tokens 0, 1, 2, ...: a window's content tells where it starts.
std::vector<int32_t> iota(int32_t n) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), 0);
  return t;
}

const int32_t *ints(const rt::HostTensor &t) {
  return reinterpret_cast<const int32_t *>(t.bytes.data());
}

TEST(TrainingDataTest, BatchesAreConsecutiveWindowsInFileOrder) {
  // 50 tokens, L = 4: windows of 5 tokens; a 20% tail (10 tokens) is held
  // out, leaving 8 training windows.
  auto data = TrainingData::create(iota(50), 4, 2, 0.2, false, 0);
  ASSERT_TRUE(static_cast<bool>(data)) << llvm::toString(data.takeError());
  EXPECT_EQ(data->trainWindows(), 8);
  EXPECT_EQ(data->valWindows(), 2);
  EXPECT_EQ(data->valBatches(), 1);
  rt::HostTensor in, out;
  data->trainBatch(2, in, out);
  ASSERT_EQ(in.shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(std::vector<int32_t>(ints(in), ints(in) + 8),
            (std::vector<int32_t>{10, 11, 12, 13, 15, 16, 17, 18}));
  EXPECT_EQ(std::vector<int32_t>(ints(out), ints(out) + 8),
            (std::vector<int32_t>{11, 12, 13, 14, 16, 17, 18, 19}));
  // Position 7 takes the last window, then wraps to the first.
  data->trainBatch(7, in, out);
  EXPECT_EQ(ints(in)[0], 35);
  EXPECT_EQ(ints(in)[4], 0);
  data->valBatch(0, in, out);
  EXPECT_EQ(ints(in)[0], 40);
  EXPECT_EQ(ints(in)[4], 45);
  EXPECT_EQ(ints(out)[7], 49);
}

TEST(TrainingDataTest, ShufflingPermutesEachEpochReproducibly) {
  auto data = TrainingData::create(iota(200), 4, 1, 0.0, true, 42);
  ASSERT_TRUE(static_cast<bool>(data));
  auto again = TrainingData::create(iota(200), 4, 1, 0.0, true, 42);
  rt::HostTensor in, out, in2, out2;
  std::set<int32_t> firstEpoch;
  std::vector<int32_t> order;
  for (int64_t p = 0; p < 40; ++p) {
    data->trainBatch(p, in, out);
    again->trainBatch(p, in2, out2);
    EXPECT_EQ(ints(in)[0], ints(in2)[0]);
    firstEpoch.insert(ints(in)[0]);
    order.push_back(ints(in)[0]);
  }
  EXPECT_EQ(firstEpoch.size(), 40u) << "an epoch visits every window once";
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
  std::vector<int32_t> second;
  for (int64_t p = 40; p < 80; ++p) {
    data->trainBatch(p, in, out);
    second.push_back(ints(in)[0]);
  }
  EXPECT_NE(order, second) << "each epoch has its own order";
}

TEST(TrainingDataTest, TooLittleDataIsAnError) {
  auto data = TrainingData::create(iota(9), 4, 2, 0.0, false, 0);
  ASSERT_FALSE(static_cast<bool>(data));
  EXPECT_NE(llvm::toString(data.takeError()).find("fewer than one batch"),
            std::string::npos);
  auto noVal = TrainingData::create(iota(100), 4, 2, 0.05, false, 0);
  ASSERT_FALSE(static_cast<bool>(noVal));
  EXPECT_NE(llvm::toString(noVal.takeError()).find("--val-fraction"),
            std::string::npos);
}

} // namespace
