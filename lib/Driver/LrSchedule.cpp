//===- LrSchedule.cpp - Learning-rate schedules ---------------------------===//

#include "megalodon/Driver/LrSchedule.h"

#include <algorithm>
#include <cmath>

using namespace megalodon;

std::optional<LrScheduleKind> megalodon::parseLrSchedule(llvm::StringRef name) {
  if (name == "linear")
    return LrScheduleKind::Linear;
  if (name == "cosine")
    return LrScheduleKind::Cosine;
  if (name == "constant")
    return LrScheduleKind::Constant;
  return std::nullopt;
}

double LrSchedule::multiplier(int64_t steps) const {
  const double s = static_cast<double>(steps);
  if (steps < warmup)
    return initialRatio + s * (1.0 - initialRatio) / static_cast<double>(warmup);
  if (kind == LrScheduleKind::Constant)
    return 1.0;
  if (steps > total)
    return finalRatio;
  // Progress through the decay; a run that ends within its warmup has none.
  const double u = total > warmup ? (s - static_cast<double>(warmup)) /
                                        static_cast<double>(total - warmup)
                                  : 1.0;
  if (kind == LrScheduleKind::Linear)
    return u * finalRatio + (1.0 - u);
  return finalRatio + 0.5 * (1.0 - finalRatio) *
                          (1.0 + std::cos(M_PI * u * cycles));
}
