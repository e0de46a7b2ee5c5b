//===- ModelTestUtils.h - Running built models in tests ---------*- C++ -*-===//
#ifndef MEGALODON_UNITTESTS_INTEGRATION_MODELTESTUTILS_H
#define MEGALODON_UNITTESTS_INTEGRATION_MODELTESTUTILS_H

#include "Common/TinyConfig.h"

#include "megalodon/Model/Config.h"
#include "megalodon/Model/ModelBuilder.h"
#include "megalodon/Reference/Interpreter.h"
#include "megalodon/runtime/HostTensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <string>
#include <vector>

namespace megalodon::testing {

/// Seeded weights with every zero-initialized tensor (norm scales and
/// shifts, mega.gamma/beta, biases) replaced by small random values, so the
/// +1 offsets and every bias are exercised.
rt::TensorMap perturbedWeights(const ModelConfig &config, uint64_t seed);

/// A [B, L] int32 tensor of `tokens`, as compiled entry points take them.
rt::HostTensor tokenTensor(const std::vector<int64_t> &tokens, int64_t B,
                           int64_t L);

/// Deterministic pseudo-random tokens in [0, vocab).
std::vector<int64_t> randomTokens(int64_t count, int64_t vocab, uint64_t seed);

/// The parameter arguments of `func` (those tagged megalodon.param), in
/// order, from `weights`.
std::vector<ref::RefValue> parameterArgs(mlir::func::FuncOp func,
                                         const rt::TensorMap &weights);

/// Builds a module for `options` and returns the named function; the module
/// stays alive in `holder`.
mlir::func::FuncOp buildFunc(mlir::MLIRContext &context,
                             const ModelConfig &config,
                             const BuildOptions &options,
                             const std::string &name,
                             mlir::OwningOpRef<mlir::ModuleOp> &holder);

} // namespace megalodon::testing

#endif // MEGALODON_UNITTESTS_INTEGRATION_MODELTESTUTILS_H
