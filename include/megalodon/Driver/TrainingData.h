//===- TrainingData.h - Batches of windows from a token stream --*- C++ -*-===//
//
// A token stream split into a training part and a held-out tail for
// validation, each cut into consecutive non-overlapping windows of L+1
// tokens: a window's first L tokens are the inputs, its last L the targets.
// Training batches take windows in file order (or in a seeded permutation per
// epoch with shuffling) and wrap around at the end of an epoch; a position
// (windows consumed so far) is all a resumed run needs to continue the same
// sequence.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_DRIVER_TRAININGDATA_H
#define MEGALODON_DRIVER_TRAININGDATA_H

#include "megalodon/runtime/HostTensor.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace megalodon {

class TrainingData {
public:
  /// Fails when the training part holds fewer than `batch` windows or, with
  /// a positive `valFraction`, the tail holds fewer than `batch` windows.
  static llvm::Expected<TrainingData>
  create(std::vector<int32_t> tokens, int64_t seqLen, int64_t batch,
         double valFraction, bool shuffle, uint64_t seed);

  int64_t trainWindows() const { return numTrain; }
  int64_t valWindows() const { return numVal; }
  /// Full validation batches.
  int64_t valBatches() const { return numVal / batchSize; }

  /// Inputs and targets ([batch, L] i32) of the training batch that starts
  /// `position` windows into training.
  void trainBatch(int64_t position, rt::HostTensor &inputs,
                  rt::HostTensor &targets) const;
  /// Validation batch `index` (< valBatches()).
  void valBatch(int64_t index, rt::HostTensor &inputs,
                rt::HostTensor &targets) const;

private:
  TrainingData() = default;
  /// The training window at `position`: file order, or the epoch's
  /// permutation with shuffling.
  int64_t trainWindowAt(int64_t position) const;
  void fill(int64_t firstToken, int64_t row, rt::HostTensor &inputs,
            rt::HostTensor &targets) const;

  std::vector<int32_t> tokens;
  int64_t length = 0, batchSize = 0;
  int64_t numTrain = 0, numVal = 0;
  /// First token of the validation tail.
  int64_t valStart = 0;
  bool shuffle = false;
  uint64_t seed = 0;
  /// The permutation of the epoch last asked for (mutable cache).
  mutable int64_t cachedEpoch = -1;
  mutable std::vector<int64_t> permutation;
};

} // namespace megalodon

#endif // MEGALODON_DRIVER_TRAININGDATA_H
