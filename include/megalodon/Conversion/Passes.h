//===- Passes.h - megalodon conversion passes -------------------*- C++ -*-===//
#ifndef MEGALODON_CONVERSION_PASSES_H
#define MEGALODON_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::megalodon {

#define GEN_PASS_DECL
#include "megalodon/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "megalodon/Conversion/Passes.h.inc"

} // namespace mlir::megalodon

#endif // MEGALODON_CONVERSION_PASSES_H
