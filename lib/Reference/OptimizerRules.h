//===- OptimizerRules.h - Reference rules of the optimizer ops --*- C++ -*-===//
//
// The reference interpreter evaluates megalodon.global_norm and
// megalodon.adamw in fp64 with the formulas of MegalodonOptimizerOps.td.
// Private to the reference library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_REFERENCE_OPTIMIZERRULES_H
#define MEGALODON_LIB_REFERENCE_OPTIMIZERRULES_H

#include "ValueStore.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

namespace megalodon::ref::detail {

llvm::Error evaluateGlobalNorm(mlir::megalodon::GlobalNormOp op,
                               ValueStore &store);
llvm::Error evaluateAdamW(mlir::megalodon::AdamWOp op, ValueStore &store);

} // namespace megalodon::ref::detail

#endif // MEGALODON_LIB_REFERENCE_OPTIMIZERRULES_H
