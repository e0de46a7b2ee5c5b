//===- TargetFactsOptions.h - Target facts from pass options ----*- C++ -*-===//
//
// The tile-config passes share the options lanes, registers, l1-bytes,
// l2-bytes and threads; each left at 0 takes the host's value.
//
// Private to the MegalodonTransforms library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_TRANSFORMS_TARGETFACTSOPTIONS_H
#define MEGALODON_LIB_TRANSFORMS_TARGETFACTSOPTIONS_H

#include "megalodon/Interfaces/TunableOpInterface.h"

namespace mlir::megalodon::detail {

/// The host's facts, with each option that is not 0 in place of its fact.
inline TargetFacts targetFactsFromOptions(int64_t lanes, int64_t registers,
                                          int64_t l1Bytes, int64_t l2Bytes,
                                          int64_t threads) {
  TargetFacts facts = TargetFacts::host(threads);
  if (lanes > 0)
    facts.vectorLanes = lanes;
  if (registers > 0)
    facts.vectorRegisters = registers;
  if (l1Bytes > 0)
    facts.l1Bytes = l1Bytes;
  if (l2Bytes > 0)
    facts.l2Bytes = l2Bytes;
  return facts;
}

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_TRANSFORMS_TARGETFACTSOPTIONS_H
