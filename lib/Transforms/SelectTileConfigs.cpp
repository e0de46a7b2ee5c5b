//===- SelectTileConfigs.cpp - Default tile configs from target facts -----===//
//
// The one place where tile sizes are chosen by rule: every tunable op
// without a config gets its own default for the target (the rules live with
// the ops, in TunableOpInterface). The tiling passes only read configs.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Transforms/Passes.h"

#include "TargetFactsOptions.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_SELECTTILECONFIGS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;

namespace {

struct SelectTileConfigs
    : public megalodon::impl::SelectTileConfigsBase<SelectTileConfigs> {
  using SelectTileConfigsBase::SelectTileConfigsBase;

  void runOnOperation() override {
    TargetFacts target = megalodon::detail::targetFactsFromOptions(
        lanes, registers, l1Bytes, l2Bytes, threads);
    StringAttr source = StringAttr::get(&getContext(), "default");
    getOperation()->walk([&](TunableOpInterface op) {
      if (op->hasAttr(kTileConfigAttrName))
        return;
      DictionaryAttr sizes = op.getDefaultTileSizes(target);
      // Ops with dynamic shapes have no default and keep their untiled
      // lowering.
      if (!sizes)
        return;
      op->setAttr(kTileConfigAttrName,
                  TileConfigAttr::get(&getContext(), sizes, source));
    });
  }
};

} // namespace
