//===- StreamingModel.h - Constant-memory streaming inference ---*- C++ -*-===//
//
// Runs a model over an unbounded token stream with compiled @prefill and
// @decode_step entry points and the carried state of MODEL.md section 7
// (per layer: timestep-norm statistics, the CEMA complex state, and the
// keys/values of the current chunk only). Memory is constant in the stream
// position; the state buffers are allocated once and swapped, never
// reallocated, between calls.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_DRIVER_STREAMINGMODEL_H
#define MEGALODON_DRIVER_STREAMINGMODEL_H

#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Model/Config.h"

#include "llvm/ADT/ArrayRef.h"

#include <functional>
#include <memory>

namespace megalodon {

class StreamingModel {
public:
  /// Compiles (or loads from the cache) @prefill for whole chunks and
  /// @decode_step for single tokens, batch 1.
  static llvm::Expected<std::unique_ptr<StreamingModel>>
  create(const ModelConfig &config, const rt::TensorMap &weights,
         const CpuCompileOptions &options);

  /// Back to the fresh state of an empty stream.
  void reset();

  /// Feeds `tokens` in legal pieces (whole chunks through @prefill when the
  /// current chunk is empty, single tokens otherwise). `onLogits`, if set,
  /// receives the fp32 logits [n, V] of each piece and the index of the
  /// piece's first token within `tokens`.
  using LogitsCallback =
      std::function<llvm::Error(const float *logits, int64_t n, int64_t first)>;
  llvm::Error feed(llvm::ArrayRef<int32_t> tokens,
                   const LogitsCallback &onLogits = nullptr);

  /// Sum over `n` positions of -log softmax(logits)[target], computed by the
  /// compiled loss entry points; `logits` and `n` as passed to a
  /// LogitsCallback, `targets` the next tokens.
  llvm::Expected<double> pieceLoss(const float *logits, int64_t n,
                                   const int32_t *targets);

  /// Logits after the last token fed ([V]); empty before any token.
  llvm::ArrayRef<float> lastLogits() const { return last; }
  /// Tokens consumed since the fresh state.
  int64_t position() const { return pos; }
  const ModelConfig &config() const { return cfg; }

  /// Saves the decoding state (versioned safetensors file whose metadata
  /// carries the config, the position and the last logits).
  llvm::Error saveState(const std::string &path) const;
  /// Restores a state saved by saveState for the same config; anything
  /// else (another config, a damaged file) is a clear error and leaves the
  /// current state untouched.
  llvm::Error loadState(const std::string &path);

private:
  StreamingModel() = default;
  llvm::Error run(const CompiledFunction &fn, std::vector<rt::HostTensor> &out,
                  llvm::ArrayRef<int32_t> tokens);

  ModelConfig cfg;
  std::unique_ptr<CompiledFunction> prefill, decode, prefillLoss, decodeLoss;
  /// Result buffers of each entry point (logits first, then state).
  std::vector<rt::HostTensor> prefillOut, decodeOut;
  /// The carried state, in decodeStateSpecs order.
  std::vector<rt::HostTensor> state;
  rt::HostTensor tokenBuffer1, tokenBufferChunk;
  std::vector<float> last;
  int64_t pos = 0;
};

} // namespace megalodon

#endif // MEGALODON_DRIVER_STREAMINGMODEL_H
