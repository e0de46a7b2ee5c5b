//===- GradientCases.h - One small function per gradient op -----*- C++ -*-===//
//
// The cases shared by the gradient-op tests: each is a tiny function, parsed
// from text, that applies a forward op and its `<op>_grad` to the function's
// arguments (the forward inputs and random cotangents) and returns the
// forward results followed by the gradients. GradientOpsTest checks the
// reference interpreter's gradients against finite differences;
// CompiledGradientOpsTest checks compiled code against the interpreter.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_UNITTESTS_INTEGRATION_GRADIENTCASES_H
#define MEGALODON_UNITTESTS_INTEGRATION_GRADIENTCASES_H

#include "megalodon/Reference/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace megalodon::testing {

/// A gradient whose value is compared with finite differences: of argument
/// `arg`, returned as result `result`.
struct Gradient {
  unsigned arg, result;
  const char *name;
};

/// One function and how to read it.
struct GradCase {
  std::string ir;
  /// (forward result, argument holding its cotangent): the terms of the loss.
  std::vector<std::pair<unsigned, unsigned>> projections;
  std::vector<Gradient> gradients;
  /// Arguments that a uniform draw in [-1, 1) would not fit: integer tokens,
  /// targets, counts and offsets, positive variances.
  std::map<unsigned, ref::RefValue> fixed;
  /// Seeds the draw of the other arguments.
  uint64_t seed = 0;
};

struct NamedGradCase {
  std::string name;
  GradCase c;
};

/// Test names print the case name rather than the struct's bytes.
inline void PrintTo(const NamedGradCase &c, std::ostream *os) { *os << c.name; }

/// Every case, one or more per gradient op.
std::vector<NamedGradCase> gradientCases();

/// The arguments of `func` for `c`: the fixed ones, and uniform draws in
/// [-1, 1) (real and imaginary parts alike) for the rest.
std::vector<ref::RefValue> drawArguments(mlir::func::FuncOp func,
                                         const GradCase &c);

} // namespace megalodon::testing

#endif // MEGALODON_UNITTESTS_INTEGRATION_GRADIENTCASES_H
