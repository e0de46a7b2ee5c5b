//===- MegalodonDialect.cpp - The megalodon dialect -----------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "TilingModels.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonAttrs.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::megalodon;

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "megalodon/Dialect/Megalodon/IR/MegalodonAttrs.cpp.inc"

void MegalodonDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "megalodon/Dialect/Megalodon/IR/MegalodonAttrs.cpp.inc"
      >();
  detail::attachTilingModels(getContext());
}

LogicalResult
TileConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       DictionaryAttr sizes, StringAttr source) {
  for (NamedAttribute entry : sizes) {
    auto value = dyn_cast<IntegerAttr>(entry.getValue());
    if (!value || !value.getType().isSignlessInteger(64))
      return emitError() << "tile size '" << entry.getName().strref()
                         << "' must be an i64";
  }
  if (!llvm::is_contained({"default", "database", "user"}, source.strref()))
    return emitError() << "tile config source must be default, database or "
                          "user, got '"
                       << source.strref() << "'";
  return success();
}

LogicalResult
MegalodonDialect::verifyOperationAttribute(Operation *op,
                                           NamedAttribute attribute) {
  // The model config a module carries (see ModelBuilder.h); its reader
  // checks its content.
  if (attribute.getName() == "megalodon.config")
    return success();
  if (attribute.getName() == kMatmulRowBlocksAttrName) {
    if (!isa<UnitAttr>(attribute.getValue()) || !isa<LoopLikeOpInterface>(op))
      return op->emitError("'") << kMatmulRowBlocksAttrName
                                << "' must be a unit attribute on a loop";
    return success();
  }
  if (attribute.getName() == kKernelCostsAttrName) {
    auto costs = dyn_cast<DictionaryAttr>(attribute.getValue());
    bool wellFormed = costs && isa<ModuleOp>(op) &&
                      llvm::all_of(costs, [](NamedAttribute entry) {
                        auto pair =
                            dyn_cast<DenseI64ArrayAttr>(entry.getValue());
                        return pair && pair.size() == 2;
                      });
    if (!wellFormed)
      return op->emitError("'") << kKernelCostsAttrName
                                << "' must be a dictionary of "
                                   "array<i64: flops, bytes> on a module";
    return success();
  }
  if (attribute.getName() != kTileConfigAttrName)
    return op->emitError("unknown megalodon attribute '")
           << attribute.getName().strref() << "'";
  if (!isa<TileConfigAttr>(attribute.getValue()))
    return op->emitError("'")
           << kTileConfigAttrName << "' must be a #megalodon.tile_config";
  if (!isa<TunableOpInterface>(op))
    return op->emitError("'")
           << kTileConfigAttrName << "' on an op that has no tile sizes";
  return success();
}
