//===- HostTensor.cpp - Typed host tensors ----------------------*- C++ -*-===//
//
// Element types, bf16 conversion and the small constructors of HostTensor.
// Storage is little-endian; the memcpy-based accessors below therefore assume
// a little-endian host, which the static_assert makes explicit.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/HostTensor.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace megalodon::rt {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "tensor bytes are stored little-endian and copied verbatim");

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::BF16:
    return 2;
  case DType::F64:
  case DType::I64:
  case DType::C64:
    return 8;
  }
  return 0;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::BF16:
    return "BF16";
  case DType::F64:
    return "F64";
  case DType::I32:
    return "I32";
  case DType::I64:
    return "I64";
  case DType::C64:
    return "C64";
  }
  return "?";
}

bool parseDType(const std::string &name, DType &dtype) {
  static const DType all[] = {DType::F32, DType::BF16, DType::F64,
                              DType::I32, DType::I64, DType::C64};
  for (DType candidate : all) {
    if (name == dtypeName(candidate)) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

uint16_t floatToBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  // Rounding could carry a NaN's payload into the exponent and turn it into
  // infinity, so NaNs keep their sign and become a quiet NaN instead.
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  // Round to nearest, ties to even: add just under half an ulp, plus one when
  // the kept part is odd. Overflow correctly carries into +-infinity.
  uint32_t lsb = (bits >> 16) & 1u;
  bits += 0x7fffu + lsb;
  return static_cast<uint16_t>(bits >> 16);
}

float bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

int64_t HostTensor::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

HostTensor HostTensor::zeros(DType dtype, std::vector<int64_t> shape) {
  HostTensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  int64_t count = tensor.numel();
  assert(count >= 0 && "negative dimension");
  tensor.bytes.assign(static_cast<size_t>(count) * dtypeSize(dtype), 0);
  return tensor;
}

/// Copies `values` into a fresh tensor of `dtype`; the element type of the
/// vector must have the dtype's size.
template <typename T>
static HostTensor fromValues(DType dtype, std::vector<int64_t> shape,
                             const std::vector<T> &values) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "unexpected element type");
  HostTensor tensor = HostTensor::zeros(dtype, std::move(shape));
  assert(values.size() == static_cast<size_t>(tensor.numel()) &&
         "value count does not match the shape");
  size_t count = std::min(values.size(), tensor.bytes.size() / sizeof(T));
  if (count)
    std::memcpy(tensor.bytes.data(), values.data(), count * sizeof(T));
  return tensor;
}

HostTensor HostTensor::fromF32(std::vector<int64_t> shape,
                               const std::vector<float> &values) {
  return fromValues(DType::F32, std::move(shape), values);
}

HostTensor HostTensor::fromF64(std::vector<int64_t> shape,
                               const std::vector<double> &values) {
  return fromValues(DType::F64, std::move(shape), values);
}

HostTensor HostTensor::fromI64(std::vector<int64_t> shape,
                               const std::vector<int64_t> &values) {
  return fromValues(DType::I64, std::move(shape), values);
}

/// Reads element `index` of type T from unaligned little-endian storage.
template <typename T> static T load(const uint8_t *base, size_t index) {
  T value;
  std::memcpy(&value, base + index * sizeof(T), sizeof(T));
  return value;
}

std::vector<double> HostTensor::toF64() const {
  // A complex element is two f32 values (real, imaginary).
  size_t count = bytes.size() / (dtype == DType::C64 ? 4 : dtypeSize(dtype));
  std::vector<double> out(count);
  const uint8_t *base = bytes.data();
  for (size_t i = 0; i < count; ++i) {
    switch (dtype) {
    case DType::F32:
    case DType::C64:
      out[i] = load<float>(base, i);
      break;
    case DType::BF16:
      out[i] = bf16ToFloat(load<uint16_t>(base, i));
      break;
    case DType::F64:
      out[i] = load<double>(base, i);
      break;
    case DType::I32:
      out[i] = load<int32_t>(base, i);
      break;
    case DType::I64:
      out[i] = static_cast<double>(load<int64_t>(base, i));
      break;
    }
  }
  return out;
}

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

} // namespace megalodon::rt
