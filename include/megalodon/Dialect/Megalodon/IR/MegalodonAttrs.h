//===- MegalodonAttrs.h - Attributes of the megalodon dialect ---*- C++ -*-===//
#ifndef MEGALODON_DIALECT_MEGALODON_IR_MEGALODONATTRS_H
#define MEGALODON_DIALECT_MEGALODON_IR_MEGALODONATTRS_H

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#define GET_ATTRDEF_CLASSES
#include "megalodon/Dialect/Megalodon/IR/MegalodonAttrs.h.inc"

#endif // MEGALODON_DIALECT_MEGALODON_IR_MEGALODONATTRS_H
