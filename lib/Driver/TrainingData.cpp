//===- TrainingData.cpp - Batches of windows from a token stream ----------===//

#include "megalodon/Driver/TrainingData.h"

#include <algorithm>
#include <random>

using namespace megalodon;

llvm::Expected<TrainingData>
TrainingData::create(std::vector<int32_t> tokens, int64_t seqLen,
                     int64_t batch, double valFraction, bool shuffle,
                     uint64_t seed) {
  if (seqLen < 1 || batch < 1)
    return llvm::createStringError("sequence length and batch must be >= 1");
  if (!(valFraction >= 0.0 && valFraction < 1.0))
    return llvm::createStringError("--val-fraction must be in [0, 1)");
  TrainingData data;
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t window = seqLen + 1;
  const int64_t valTokens = static_cast<int64_t>(valFraction * n);
  data.valStart = n - valTokens;
  data.numTrain = data.valStart / window;
  data.numVal = valTokens / window;
  if (data.numTrain < batch)
    return llvm::createStringError(
        "the training data holds " + std::to_string(data.numTrain) +
        " windows of " + std::to_string(window) + " tokens, fewer than one "
        "batch of " + std::to_string(batch));
  if (valFraction > 0.0 && data.numVal < batch)
    return llvm::createStringError(
        "the validation tail holds " + std::to_string(data.numVal) +
        " windows of " + std::to_string(window) + " tokens, fewer than one "
        "batch of " + std::to_string(batch) +
        "; raise --val-fraction or pass 0 to disable validation");
  data.tokens = std::move(tokens);
  data.length = seqLen;
  data.batchSize = batch;
  data.shuffle = shuffle;
  data.seed = seed;
  return data;
}

int64_t TrainingData::trainWindowAt(int64_t position) const {
  const int64_t epoch = position / numTrain, index = position % numTrain;
  if (!shuffle)
    return index;
  if (epoch != cachedEpoch) {
    // Fisher-Yates with the bounded draw written out, so that the order does
    // not depend on the standard library's distributions.
    permutation.resize(numTrain);
    for (int64_t i = 0; i < numTrain; ++i)
      permutation[i] = i;
    std::mt19937_64 rng(seed ^ (0x9e3779b97f4a7c15ull *
                                static_cast<uint64_t>(epoch + 1)));
    for (int64_t i = numTrain - 1; i > 0; --i) {
      int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
      std::swap(permutation[i], permutation[j]);
    }
    cachedEpoch = epoch;
  }
  return permutation[index];
}

void TrainingData::fill(int64_t firstToken, int64_t row,
                        rt::HostTensor &inputs, rt::HostTensor &targets) const {
  auto *in = reinterpret_cast<int32_t *>(inputs.bytes.data()) + row * length;
  auto *out = reinterpret_cast<int32_t *>(targets.bytes.data()) + row * length;
  const int32_t *begin = tokens.data() + firstToken;
  std::copy(begin, begin + length, in);
  std::copy(begin + 1, begin + 1 + length, out);
}

void TrainingData::trainBatch(int64_t position, rt::HostTensor &inputs,
                              rt::HostTensor &targets) const {
  inputs = rt::HostTensor::zeros(rt::DType::I32, {batchSize, length});
  targets = rt::HostTensor::zeros(rt::DType::I32, {batchSize, length});
  for (int64_t b = 0; b < batchSize; ++b)
    fill(trainWindowAt(position + b) * (length + 1), b, inputs, targets);
}

void TrainingData::valBatch(int64_t index, rt::HostTensor &inputs,
                            rt::HostTensor &targets) const {
  inputs = rt::HostTensor::zeros(rt::DType::I32, {batchSize, length});
  targets = rt::HostTensor::zeros(rt::DType::I32, {batchSize, length});
  for (int64_t b = 0; b < batchSize; ++b)
    fill(valStart + (index * batchSize + b) * (length + 1), b, inputs, targets);
}
