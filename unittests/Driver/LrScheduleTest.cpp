//===- LrScheduleTest.cpp - Learning-rate schedules -----------------------===//
//
// The multipliers of MODEL.md section 11 at hand-computed steps: W = 10,
// T = 110, r0 = 1e-4, r_end = 0.01.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Driver/LrSchedule.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace megalodon;

namespace {

LrSchedule make(LrScheduleKind kind) {
  LrSchedule s;
  s.kind = kind;
  s.warmup = 10;
  s.total = 110;
  return s;
}

TEST(LrScheduleTest, WarmupIsLinearFromTheInitialRatio) {
  for (auto kind : {LrScheduleKind::Linear, LrScheduleKind::Cosine,
                    LrScheduleKind::Constant}) {
    LrSchedule s = make(kind);
    EXPECT_DOUBLE_EQ(s.multiplier(0), 1e-4);
    EXPECT_DOUBLE_EQ(s.multiplier(5), 1e-4 + 5 * (1 - 1e-4) / 10);
    EXPECT_DOUBLE_EQ(s.multiplier(10), 1.0);
  }
}

TEST(LrScheduleTest, LinearDecaysToTheFinalRatio) {
  LrSchedule s = make(LrScheduleKind::Linear);
  EXPECT_DOUBLE_EQ(s.multiplier(60), 0.5 * 0.01 + 0.5);
  EXPECT_DOUBLE_EQ(s.multiplier(110), 0.01);
  EXPECT_DOUBLE_EQ(s.multiplier(500), 0.01);
}

TEST(LrScheduleTest, CosineDecaysToTheFinalRatio) {
  LrSchedule s = make(LrScheduleKind::Cosine);
  EXPECT_NEAR(s.multiplier(60), 0.01 + 0.5 * 0.99, 1e-15);
  EXPECT_NEAR(s.multiplier(35),
              0.01 + 0.5 * 0.99 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_NEAR(s.multiplier(110), 0.01, 1e-15);
  EXPECT_DOUBLE_EQ(s.multiplier(111), 0.01);
}

TEST(LrScheduleTest, ConstantStaysAtOne) {
  LrSchedule s = make(LrScheduleKind::Constant);
  EXPECT_DOUBLE_EQ(s.multiplier(60), 1.0);
  EXPECT_DOUBLE_EQ(s.multiplier(1000), 1.0);
}

TEST(LrScheduleTest, ParsesTheThreeNames) {
  EXPECT_EQ(parseLrSchedule("linear"), LrScheduleKind::Linear);
  EXPECT_EQ(parseLrSchedule("cosine"), LrScheduleKind::Cosine);
  EXPECT_EQ(parseLrSchedule("constant"), LrScheduleKind::Constant);
  EXPECT_FALSE(parseLrSchedule("step").has_value());
}

} // namespace
