//===- TunableOpInterface.td - ops with tile sizes to choose -*- tablegen -*-===//
//
// The op interface behind tile configs: an op whose lowering has sizes to
// choose (time blocks, vector lanes, register groups, checkpoint intervals)
// names them, proposes defaults from facts about the target, judges a given
// choice, and lists the choices worth timing. The passes that select,
// verify and consume tile configs know no op; the rules live with the ops.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_INTERFACES_TUNABLEOPINTERFACE_TD
#define MEGALODON_INTERFACES_TUNABLEOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def TunableOpInterface : OpInterface<"TunableOpInterface"> {
  let description = [{
    An op with tile sizes: a dictionary of named positive integers (e.g.
    `block_time`, `lanes`) that its tiling pass reads from the op's
    `megalodon.tile_config` attribute. Sizes change speed and memory, never
    the mathematical result (up to f32 rounding order).

    * `getDefaultTileSizes` picks sizes from the target facts alone.
    * `verifyTileSizes` emits an error on the op and fails when the sizes
      are missing a name, have an unknown one, or break a rule of the op's
      shapes or of the target (e.g. lanes that do not divide the channels,
      more live vectors than registers).
    * `enumerateTileSizes` lists the candidates a tuner should time; every
      one passes `verifyTileSizes`.
    * `getTileSpaceVersion` changes when the sizes or their rules do, so
      that tuning results keyed by it go stale (by default 1).
  }];
  let cppNamespace = "::mlir::megalodon";
  let methods = [
    InterfaceMethod<"The tile sizes to use when nothing else is known.",
      "::mlir::DictionaryAttr", "getDefaultTileSizes",
      (ins "const ::mlir::megalodon::TargetFacts &":$target)>,
    InterfaceMethod<"Checks `sizes` against the op and the target; emits an "
                    "error on the op when they are invalid.",
      "::llvm::LogicalResult", "verifyTileSizes",
      (ins "::mlir::DictionaryAttr":$sizes,
           "const ::mlir::megalodon::TargetFacts &":$target)>,
    InterfaceMethod<"The candidates a tuner should time, all valid.",
      "::llvm::SmallVector<::mlir::DictionaryAttr>", "enumerateTileSizes",
      (ins "const ::mlir::megalodon::TargetFacts &":$target)>,
    InterfaceMethod<"The version of the op's sizes and their rules: a tuning "
                    "result recorded under another version is not reused.",
      "int64_t", "getTileSpaceVersion", (ins), [{}], [{ return 1; }]>,
  ];
}

#endif // MEGALODON_INTERFACES_TUNABLEOPINTERFACE_TD
