//===- TilingModels.h - TilingInterface models of megalodon ops -*- C++ -*-===//
#ifndef MEGALODON_LIB_DIALECT_MEGALODON_IR_TILINGMODELS_H
#define MEGALODON_LIB_DIALECT_MEGALODON_IR_TILINGMODELS_H

namespace mlir {
class MLIRContext;
namespace megalodon::detail {
/// Attaches TilingInterface to the forward compute ops (TilingModels.cpp).
void attachTilingModels(MLIRContext *context);
} // namespace megalodon::detail
} // namespace mlir

#endif // MEGALODON_LIB_DIALECT_MEGALODON_IR_TILINGMODELS_H
