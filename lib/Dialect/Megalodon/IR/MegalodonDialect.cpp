//===- MegalodonDialect.cpp - The megalodon dialect -----------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

using namespace mlir;
using namespace mlir::megalodon;

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.cpp.inc"

void MegalodonDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.cpp.inc"
      >();
}
