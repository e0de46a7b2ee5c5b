//===- InputRules.h - Rules on the inputs of an op family -------*- C++ -*-===//
//
// A forward op and its gradient op take the same forward inputs, so the rules
// on those inputs live here once and both verifiers call them. The order of
// the checks is the order of the diagnostics, so it is part of the contract.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_DIALECT_MEGALODON_IR_INPUTRULES_H
#define MEGALODON_LIB_DIALECT_MEGALODON_IR_INPUTRULES_H

#include "Checker.h"

namespace mlir::megalodon::detail {

/// timestep_norm: x [B,L,D], weight [D] (and bias [D] when non-null),
/// num_groups dividing D, eps > 0, and the optional carried state.
LogicalResult checkTimestepNormInputs(Checker &c, Value x, Value weight,
                                      Value bias, int64_t groups, double eps,
                                      Value count, Value mean, Value var);

/// rms_norm: x [..., W], groups dividing W, eps > 0, optional weight [W].
LogicalResult checkRMSNormInputs(Checker &c, Value x, Value weight,
                                 int64_t groups, double eps);

/// cema: x [B,L,D], the stored parameters in their official shapes and the
/// optional complex<f32> state [B,D,N].
LogicalResult checkCemaInputs(Checker &c, Value x, Value alpha, Value delta,
                              Value theta, Value gamma, Value omega, Value hx);

/// linear: x [..., K] and weight [N, K].
LogicalResult checkLinearInputs(Checker &c, Value x, Value weight);

/// shared_qk: z [B,L,Z] split into heads of even width and gamma [2,Z].
LogicalResult checkSharedQKInputs(Checker &c, Value z, Value gamma,
                                  int64_t heads);

/// rotary: `x` (named `name`) [B,L,H*dh] with even dh, base and chunk size
/// positive, the optional 0-d i64 offset.
LogicalResult checkRotaryInputs(Checker &c, Value x, StringRef name,
                                int64_t heads, double base, int64_t chunk,
                                Value offset);

/// chunk_attention: q, k [B,L,H*dz], v [B,L,H*dv] of one element type,
/// heads dividing both widths, L <= C or L % C == 0.
LogicalResult checkAttentionInputs(Checker &c, Value q, Value k, Value v,
                                   int64_t heads, int64_t chunk);

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_DIALECT_MEGALODON_IR_INPUTRULES_H
