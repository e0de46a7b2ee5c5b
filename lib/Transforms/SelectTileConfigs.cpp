//===- SelectTileConfigs.cpp - Tile configs from tuning results or rules --===//
//
// The one place where tile sizes are chosen: every tunable op without a
// config gets the tuning database's result for it, if there is one that the
// op accepts, and otherwise its own default for the target (the rules live
// with the ops, in TunableOpInterface). The tiling passes only read configs,
// and each config records where it came from.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Transforms/Passes.h"

#include "TargetFactsOptions.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/runtime/TuningDatabase.h"

#include "mlir/IR/Diagnostics.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_SELECTTILECONFIGS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;

namespace {

struct SelectTileConfigs
    : public mlir::megalodon::impl::SelectTileConfigsBase<SelectTileConfigs> {
  using SelectTileConfigsBase::SelectTileConfigsBase;

  void runOnOperation() override {
    TargetFacts target = mlir::megalodon::detail::targetFactsFromOptions(
        lanes, registers, l1Bytes, l2Bytes, threads);
    ::megalodon::rt::TuningDatabase tuned;
    if (!database.empty()) {
      ::megalodon::rt::Status status =
          ::megalodon::rt::readTuningDatabase(database, tuned);
      if (!status.ok())
        getOperation()->emitWarning()
            << status.message() << "; using default tile configs";
    }
    std::string compilerKey =
        compiler.empty() ? tuningCompilerVersion() : compiler.getValue();
    std::string targetKeyText =
        targetKey.empty() ? hostTargetKey() : targetKey.getValue();

    MLIRContext *ctx = &getContext();
    getOperation()->walk([&](TunableOpInterface op) {
      if (op->hasAttr(kTileConfigAttrName))
        return;
      if (cemaMatrixBlock > 0 && isa<CemaOp, CemaGradOp>(op.getOperation())) {
        DictionaryAttr sizes =
            makeTileSizes(ctx, {{"matrix_block", int64_t(cemaMatrixBlock)}});
        std::string why;
        if (succeeded(verifyQuietly(op, sizes, target, why))) {
          op->setAttr(
              kTileConfigAttrName,
              TileConfigAttr::get(ctx, sizes, StringAttr::get(ctx, "user")));
          return;
        }
      }
      if (!tuned.entries.empty()) {
        ::megalodon::rt::TuningKey key{compilerKey, targetKeyText,
                                       tileOpSignature(op),
                                       op.getTileSpaceVersion()};
        if (DictionaryAttr sizes = tunedSizes(op, tuned.find(key), target)) {
          op->setAttr(kTileConfigAttrName,
                      TileConfigAttr::get(ctx, sizes,
                                          StringAttr::get(ctx, "database")));
          return;
        }
      }
      if (!defaults)
        return;
      DictionaryAttr sizes = op.getDefaultTileSizes(target);
      // Ops with dynamic shapes have no default and keep their untiled
      // lowering.
      if (!sizes)
        return;
      op->setAttr(
          kTileConfigAttrName,
          TileConfigAttr::get(ctx, sizes, StringAttr::get(ctx, "default")));
    });
  }

  /// The sizes of `entry` if the op accepts them; a rejected entry is a
  /// warning at the op.
  DictionaryAttr tunedSizes(TunableOpInterface op,
                            const ::megalodon::rt::TuningEntry *entry,
                            const TargetFacts &target) {
    if (!entry)
      return {};
    SmallVector<std::pair<StringRef, int64_t>> pairs;
    for (const auto &[name, value] : entry->sizes)
      pairs.emplace_back(name, value);
    DictionaryAttr sizes = makeTileSizes(op->getContext(), pairs);
    std::string why;
    if (succeeded(verifyQuietly(op, sizes, target, why)))
      return sizes;
    op->emitWarning() << "tuning database entry ignored: " << why;
    return {};
  }

  /// The op's verifyTileSizes with its error captured in `why` instead of
  /// reported.
  static LogicalResult verifyQuietly(TunableOpInterface op,
                                     DictionaryAttr sizes,
                                     const TargetFacts &target,
                                     std::string &why) {
    ScopedDiagnosticHandler capture(op->getContext(), [&](Diagnostic &d) {
      why = d.str();
      return success();
    });
    return op.verifyTileSizes(sizes, target);
  }
};

} // namespace
