//===- ValueStore.h - The values of a reference evaluation ------*- C++ -*-===//
//
// The SSA values of one function that the reference interpreter evaluates,
// with the accessors that the op rules are written with. Shared by the
// forward rules (Interpreter.cpp) and the gradient rules (GradientRules.cpp).
// Private to the reference library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_REFERENCE_VALUESTORE_H
#define MEGALODON_LIB_REFERENCE_VALUESTORE_H

#include "megalodon/Reference/Interpreter.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace megalodon::ref::detail {

/// The static shape of a tensor value.
inline std::vector<int64_t> shapeOf(mlir::Value v) {
  auto t = llvm::cast<mlir::RankedTensorType>(v.getType());
  return std::vector<int64_t>(t.getShape().begin(), t.getShape().end());
}

/// Orders SSA values by their opaque pointers (any total order will do).
struct ValueOrder {
  bool operator()(mlir::Value a, mlir::Value b) const {
    return a.getAsOpaquePointer() < b.getAsOpaquePointer();
  }
};

/// The values computed so far, by SSA value.
class ValueStore {
public:
  const RefValue &get(mlir::Value v) { return values[v]; }

  /// The data of a real value, or null for an absent optional operand.
  const double *real(mlir::Value v) {
    return v ? values[v].real.data() : nullptr;
  }

  /// Defines `result` as a zero real tensor of its declared shape.
  RefValue &defineReal(mlir::Value result) {
    RefValue &v = values[result];
    v = RefValue::realTensor(shapeOf(result), {});
    v.real.assign(v.numel(), 0.0);
    return v;
  }

  void define(mlir::Value result, RefValue value) {
    values[result] = std::move(value);
  }

  static llvm::Error error(mlir::Operation *op, const std::string &message) {
    std::string loc;
    llvm::raw_string_ostream os(loc);
    op->getLoc().print(os);
    return llvm::createStringError(op->getName().getStringRef().str() + " at " +
                                   loc + ": " + message);
  }

  /// Width of the last axis and the number of rows before it.
  static std::pair<int64_t, int64_t> rowsAndWidth(mlir::Value v) {
    std::vector<int64_t> s = shapeOf(v);
    int64_t width = s.empty() ? 1 : s.back(), rows = 1;
    for (size_t i = 0; i + 1 < s.size(); ++i)
      rows *= s[i];
    return {rows, width};
  }

  /// Reads a 0-d i64 operand (a cache length or rotary offset).
  static int64_t scalar(const RefValue &v) { return v.integer.at(0); }

protected:
  /// Op rules hold references to operand entries while they insert their
  /// results, so the map must keep its nodes in place: std::map, not a
  /// DenseMap (which moves every entry when it grows).
  std::map<mlir::Value, RefValue, ValueOrder> values;
};

} // namespace megalodon::ref::detail

#endif // MEGALODON_LIB_REFERENCE_VALUESTORE_H
