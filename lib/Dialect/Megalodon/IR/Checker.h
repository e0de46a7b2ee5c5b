//===- Checker.h - Shared helpers of the megalodon verifiers ----*- C++ -*-===//
//
// The checks that the verifiers of the forward ops (MegalodonOps.cpp) and of
// the gradient ops (MegalodonGradOps.cpp) are written with, kept in one place
// so that every diagnostic has the same form: it names the operand and the
// rule, e.g. "operand 'weight' has shape [32] but the rule 'one scale per
// feature of x' needs [64]". Dynamic dimensions match anything; the runtime
// checks them when shapes become known. Private to the dialect library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_DIALECT_MEGALODON_IR_CHECKER_H
#define MEGALODON_LIB_DIALECT_MEGALODON_IR_CHECKER_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::megalodon::detail {

inline constexpr int64_t kAny = ShapedType::kDynamic;

/// A shape as "[2, ?, 64]", for diagnostics.
inline std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return s;
}

/// Equal sizes, or at least one of them dynamic.
inline bool dimsMatch(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

/// Shared checks with one place that formats the diagnostics.
class Checker {
public:
  explicit Checker(Operation *op) : op(op) {}

  RankedTensorType type(Value v) {
    return cast<RankedTensorType>(v.getType());
  }

  /// Floating-point data must be f32 or bf16.
  LogicalResult floatData(Value v, StringRef name) {
    Type et = type(v).getElementType();
    if (et.isF32() || et.isBF16())
      return success();
    if (et.isF16())
      return op->emitOpError()
             << name
             << " has element type f16, which is not supported: f16's range "
                "cannot hold the normalization statistics and attention "
                "scores of long sequences; use bf16 or f32";
    return op->emitOpError() << name << " must have element type f32 or bf16, got "
                             << et;
  }

  LogicalResult integerData(Value v, StringRef name) {
    Type et = type(v).getElementType();
    if (et.isSignlessInteger(32) || et.isSignlessInteger(64))
      return success();
    return op->emitOpError() << name << " must have element type i32 or i64, got "
                             << et;
  }

  LogicalResult elementType(Value v, StringRef name, Type expected,
                            StringRef rule) {
    Type et = type(v).getElementType();
    if (et == expected)
      return success();
    return op->emitOpError() << name << " has element type " << et
                             << " but the rule '" << rule << "' needs "
                             << expected;
  }

  LogicalResult rank(Value v, StringRef name, int64_t r, StringRef what) {
    if (type(v).getRank() == r)
      return success();
    return op->emitOpError() << name << " must have rank " << r << " (" << what
                             << "), got " << shapeString(type(v).getShape());
  }

  LogicalResult minRank(Value v, StringRef name, int64_t r) {
    if (type(v).getRank() >= r)
      return success();
    return op->emitOpError() << name << " must have rank >= " << r;
  }

  LogicalResult shape(Value v, StringRef name, ArrayRef<int64_t> expected,
                      StringRef rule) {
    ArrayRef<int64_t> got = type(v).getShape();
    bool ok = got.size() == expected.size();
    for (size_t i = 0; ok && i < got.size(); ++i)
      ok = dimsMatch(got[i], expected[i]);
    if (ok)
      return success();
    return op->emitOpError() << name << " has shape " << shapeString(got)
                             << " but the rule '" << rule << "' needs "
                             << shapeString(expected);
  }

  LogicalResult sameType(Value v, StringRef name, Type expected,
                         StringRef rule) {
    if (v.getType() == expected)
      return success();
    return op->emitOpError() << name << " has type " << v.getType()
                             << " but the rule '" << rule << "' needs "
                             << expected;
  }

  LogicalResult positiveInt(int64_t value, StringRef attr) {
    if (value > 0)
      return success();
    return op->emitOpError() << "attribute '" << attr
                             << "' must be positive, got " << value;
  }

  LogicalResult positiveReal(double value, StringRef attr) {
    if (value > 0)
      return success();
    return op->emitOpError() << "attribute '" << attr
                             << "' must be positive, got " << value;
  }

  /// `whole` must be a multiple of `part` (dynamic sizes pass).
  LogicalResult divides(int64_t part, int64_t whole, StringRef rule) {
    if (ShapedType::isDynamic(whole) || whole % part == 0)
      return success();
    return op->emitOpError() << "rule '" << rule << "' violated: " << whole
                             << " is not divisible by " << part;
  }

  /// A call covers whole chunks or stays inside one: L <= C or L % C == 0.
  LogicalResult chunkLength(int64_t length, int64_t chunk) {
    if (ShapedType::isDynamic(length) || length <= chunk ||
        length % chunk == 0)
      return success();
    return op->emitOpError()
           << "rule 'sequence length L <= chunk_size or L % chunk_size == 0' "
              "violated: L = "
           << length << ", chunk_size = " << chunk;
  }

  /// Operands that only make sense together: all of them or none. The custom
  /// syntax guarantees this, the generic syntax does not.
  LogicalResult allOrNone(ArrayRef<Value> group, StringRef rule) {
    int64_t given = llvm::count_if(group, [](Value v) { return bool(v); });
    if (given == 0 || given == static_cast<int64_t>(group.size()))
      return success();
    return op->emitOpError() << "rule '" << rule << "' violated: " << given
                             << " of " << group.size() << " operands given";
  }

  /// A 0-d i64 tensor (a count or a position).
  LogicalResult scalarI64(Value v, StringRef name) {
    RankedTensorType t = type(v);
    if (t.getRank() == 0 && t.getElementType().isSignlessInteger(64))
      return success();
    return op->emitOpError() << name << " must be a 0-d tensor of i64, got "
                             << v.getType();
  }

private:
  Operation *op;
};

/// The dimension of a shape, or kAny when the rank is too small.
inline int64_t dim(Value v, int64_t i) {
  auto t = cast<RankedTensorType>(v.getType());
  return i < t.getRank() ? t.getDimSize(i) : kAny;
}

/// The size of the last axis (kAny for a 0-d tensor).
inline int64_t lastDim(Value v) {
  int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
  return rank == 0 ? kAny : dim(v, rank - 1);
}

/// Heads split the width into equal blocks; rotary pairs need an even block.
inline LogicalResult checkHeads(Checker &c, int64_t heads, int64_t width,
                                bool needEven, StringRef what) {
  if (failed(c.positiveInt(heads, "num_heads")) ||
      failed(c.divides(heads, width,
                       (Twine("num_heads divides the ") + what + " width")
                           .str())))
    return failure();
  if (!needEven || ShapedType::isDynamic(width) || (width / heads) % 2 == 0)
    return success();
  return c.divides(2, width / heads,
                   "per-head query/key width is even (rotary pairs)");
}

} // namespace mlir::megalodon::detail

/// Returns failure from the enclosing verifier when a check fails (the check
/// has already emitted its diagnostic).
#define CHECK(expr)                                                            \
  if (failed(expr))                                                            \
    return failure();

#endif // MEGALODON_LIB_DIALECT_MEGALODON_IR_CHECKER_H
