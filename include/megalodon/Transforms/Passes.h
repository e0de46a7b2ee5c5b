//===- Passes.h - megalodon transformation passes ---------------*- C++ -*-===//
#ifndef MEGALODON_TRANSFORMS_PASSES_H
#define MEGALODON_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

namespace mlir::megalodon {

#define GEN_PASS_DECL
#include "megalodon/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "megalodon/Transforms/Passes.h.inc"

} // namespace mlir::megalodon

#endif // MEGALODON_TRANSFORMS_PASSES_H
