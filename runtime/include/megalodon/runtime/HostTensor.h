//===- HostTensor.h - Typed host tensors ------------------------*- C++ -*-===//
//
// A dense, row-major tensor in host memory with one of the element types that
// checkpoints and token files carry. Storage is raw little-endian bytes so that
// bf16 and i64 buffers round-trip through safetensors unchanged.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_HOSTTENSOR_H
#define MEGALODON_RUNTIME_HOSTTENSOR_H

#include "megalodon/runtime/AlignedAllocator.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace megalodon::rt {

/// C64 is complex<f32>: (real, imaginary) pairs of f32, as the CEMA state.
enum class DType : uint8_t { F32, BF16, F64, I32, I64, C64 };

/// Bytes per element.
size_t dtypeSize(DType dtype);
/// The safetensors spelling: "F32", "BF16", "F64", "I32", "I64", "C64".
const char *dtypeName(DType dtype);
/// Parses a safetensors dtype spelling; returns false for anything else.
bool parseDType(const std::string &name, DType &dtype);

/// Rounds an fp32 value to bf16 (round to nearest even) and back.
uint16_t floatToBF16(float value);
float bf16ToFloat(uint16_t bits);

struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// 64-byte aligned so that it can be passed to compiled code as is.
  ByteVector bytes;

  int64_t numel() const;
  /// Allocates zero-filled storage for the shape.
  static HostTensor zeros(DType dtype, std::vector<int64_t> shape);
  static HostTensor fromF32(std::vector<int64_t> shape,
                            const std::vector<float> &values);
  static HostTensor fromF64(std::vector<int64_t> shape,
                            const std::vector<double> &values);
  static HostTensor fromI64(std::vector<int64_t> shape,
                            const std::vector<int64_t> &values);
  /// Every element converted to double (integers exactly when |v| < 2^53);
  /// a C64 element gives two values, real then imaginary.
  std::vector<double> toF64() const;
  /// Typed element access; the caller guarantees the dtype.
  float *f32() { return reinterpret_cast<float *>(bytes.data()); }
  const float *f32() const {
    return reinterpret_cast<const float *>(bytes.data());
  }
};

/// Tensors by name; std::map keeps a deterministic (sorted) order.
using TensorMap = std::map<std::string, HostTensor>;

/// "[2, 32]" style rendering for error messages.
std::string shapeToString(const std::vector<int64_t> &shape);

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_HOSTTENSOR_H
