//===- ModelBuilder.h - Config to megalodon IR ------------------*- C++ -*-===//
//
// Emits a module with the model's entry points on the megalodon dialect:
//
//   @forward(tokens [B,L] i32, params...) -> logits [B,L,V] f32
//   @loss(tokens [B,L] i32, targets [B,L] i32, params...) -> mean CE (f32)
//   @decode_step(tokens [B,Ld] i32, cache_len, state..., params...)
//       -> (logits [B,Ld,V], cache_len, state...)
//   @prefill: @decode_step for a longer piece (whole chunks or a partial one)
//   @decode_step_loss, @prefill_loss (logits, targets) -> mean cross-entropy
//   @segment_loss(tokens, targets, state..., params...) -> (loss, state...)
//
// Parameters are trailing function arguments tagged `megalodon.param` with
// their state_dict names (buffers are not arguments: the ops derive them from
// attributes). Carried decoding state is tagged `megalodon.state`, and every
// state result has the `megalodon.state` name of the argument it replaces.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_MODEL_MODELBUILDER_H
#define MEGALODON_MODEL_MODELBUILDER_H

#include "megalodon/Model/Config.h"
#include "megalodon/Model/DecodeState.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace megalodon {

struct BuildOptions {
  int64_t batch = 1;
  /// Positions per call of @forward and @loss; <= 0 means chunk_size.
  int64_t seqLen = 0;
  /// New tokens per call of @decode_step.
  int64_t decodeLen = 1;
  bool emitForward = true;
  bool emitLoss = true;
  bool emitDecode = true;
  /// @prefill is @decode_step for `prefillLen` tokens (<= 0: chunk_size).
  bool emitPrefill = false;
  int64_t prefillLen = 0;
  /// @decode_step_loss / @prefill_loss: the mean cross-entropy of a streamed
  /// piece's logits against its targets.
  bool emitStreamingLoss = false;
  /// @segment_loss(tokens, targets, state..., params...) -> (loss, state...):
  /// @loss for one segment of a longer sequence, continuing the carried
  /// timestep-norm and CEMA state (segmentStateSpecs) of the previous one.
  bool emitSegmentLoss = false;
  /// The trainable parameters arrive as bf16 (half the memory, and half the
  /// bytes copied to a GPU per call) and are widened to f32 where each
  /// function starts: all arithmetic and accumulation stay f32 (MODEL.md
  /// section 12). For inference; the autodiff of @loss and the training
  /// step take f32 parameters.
  bool bf16Parameters = false;
};

/// Names of the attributes the builder puts on arguments and results.
constexpr const char *kParamAttr = "megalodon.param";
constexpr const char *kStateAttr = "megalodon.state";
constexpr const char *kInputAttr = "megalodon.input";
/// Module attribute holding the config as JSON.
constexpr const char *kConfigAttr = "megalodon.config";

/// Builds and verifies the module; errors (a shape rule the options break,
/// e.g. seqLen neither <= chunk_size nor a multiple of it) are returned.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildModelModule(mlir::MLIRContext &context, const ModelConfig &config,
                 const BuildOptions &options);

/// Loads the dialects the builder's output uses.
void loadModelDialects(mlir::MLIRContext &context);

} // namespace megalodon

#endif // MEGALODON_MODEL_MODELBUILDER_H
