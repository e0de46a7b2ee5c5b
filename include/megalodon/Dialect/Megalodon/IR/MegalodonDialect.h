//===- MegalodonDialect.h - The megalodon dialect ---------------*- C++ -*-===//
#ifndef MEGALODON_DIALECT_MEGALODON_IR_MEGALODONDIALECT_H
#define MEGALODON_DIALECT_MEGALODON_IR_MEGALODONDIALECT_H

#include "mlir/IR/Dialect.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h.inc"

#endif // MEGALODON_DIALECT_MEGALODON_IR_MEGALODONDIALECT_H
