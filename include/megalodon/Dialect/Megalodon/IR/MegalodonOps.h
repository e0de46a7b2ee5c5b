//===- MegalodonOps.h - megalodon operations --------------------*- C++ -*-===//
#ifndef MEGALODON_DIALECT_MEGALODON_IR_MEGALODONOPS_H
#define MEGALODON_DIALECT_MEGALODON_IR_MEGALODONOPS_H

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonAttrs.h"
#include "megalodon/Interfaces/DifferentiableOpInterface.h"
#include "megalodon/Interfaces/TunableOpInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h.inc"

#endif // MEGALODON_DIALECT_MEGALODON_IR_MEGALODONOPS_H
