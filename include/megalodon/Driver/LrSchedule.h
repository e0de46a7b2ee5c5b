//===- LrSchedule.h - Learning-rate schedules -------------------*- C++ -*-===//
//
// The multiplier of the peak learning rate as a function of the number of
// steps taken, MODEL.md section 11: a linear warmup from r0 to 1 over W
// steps, then linear decay to r_end at step T, cosine decay to r_end, or
// constant 1.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_DRIVER_LRSCHEDULE_H
#define MEGALODON_DRIVER_LRSCHEDULE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace megalodon {

enum class LrScheduleKind { Linear, Cosine, Constant };

/// "linear", "cosine" or "constant".
std::optional<LrScheduleKind> parseLrSchedule(llvm::StringRef name);

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::Linear;
  /// Warmup steps W (reference default 2000) and total steps T.
  int64_t warmup = 2000;
  int64_t total = 0;
  /// The multiplier at step 0 and at the end of the decay.
  double initialRatio = 1e-4;
  double finalRatio = 0.01;
  /// Cosine cycles over the decay.
  double cycles = 1.0;

  /// The multiplier for the step taken after `steps` steps (0 before the
  /// first step).
  double multiplier(int64_t steps) const;
};

} // namespace megalodon

#endif // MEGALODON_DRIVER_LRSCHEDULE_H
