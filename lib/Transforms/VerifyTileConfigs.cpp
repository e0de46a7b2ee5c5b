//===- VerifyTileConfigs.cpp - Check tile configs against op and target ---===//
//
// A tile config written by hand or read from a tuning database may not fit
// the op's shapes or the target; the op's verifyTileSizes says why, at the
// op, before any tiling pass relies on it.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Transforms/Passes.h"

#include "TargetFactsOptions.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_VERIFYTILECONFIGS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;

namespace {

struct VerifyTileConfigs
    : public megalodon::impl::VerifyTileConfigsBase<VerifyTileConfigs> {
  using VerifyTileConfigsBase::VerifyTileConfigsBase;

  void runOnOperation() override {
    TargetFacts target = megalodon::detail::targetFactsFromOptions(
        lanes, registers, l1Bytes, l2Bytes, threads);
    bool failed = false;
    getOperation()->walk([&](TunableOpInterface op) {
      auto config = op->getAttrOfType<TileConfigAttr>(kTileConfigAttrName);
      if (config && mlir::failed(op.verifyTileSizes(config.getSizes(), target)))
        failed = true;
    });
    if (failed)
      signalPassFailure();
  }
};

} // namespace
