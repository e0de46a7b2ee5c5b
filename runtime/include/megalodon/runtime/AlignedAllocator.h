//===- AlignedAllocator.h - Over-aligned storage for tensors ----*- C++ -*-===//
//
// Tensor buffers are handed to compiled code as memref descriptors. Code
// generated for vector loads may assume its buffers are aligned beyond what
// the default allocator promises (16 bytes on x86-64), so host storage is
// allocated on a 64-byte boundary: a full cache line and the widest vector
// register (AVX-512).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_ALIGNEDALLOCATOR_H
#define MEGALODON_RUNTIME_ALIGNEDALLOCATOR_H

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace megalodon::rt {

/// The alignment of every HostTensor buffer, in bytes.
inline constexpr size_t kTensorAlignment = 64;

/// A minimal std::allocator replacement whose allocations start at a multiple
/// of `Alignment` bytes. It is stateless, so any two instances compare equal
/// and containers can swap or move storage freely.
template <typename T, size_t Alignment = kTensorAlignment>
class AlignedAllocator {
  static_assert(Alignment != 0 && (Alignment & (Alignment - 1)) == 0,
                "alignment must be a power of two");
  static_assert(Alignment >= alignof(T),
                "alignment must not be weaker than the type's own");

public:
  using value_type = T;
  /// Spelled out because the default rebind cannot deduce a non-type
  /// template parameter.
  template <typename U> struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };

  AlignedAllocator() noexcept = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, Alignment> &) noexcept {}

  /// Uses the aligned operator new so that allocation failure behaves like
  /// the rest of the standard library.
  T *allocate(size_t count) {
    // Containers never ask for more than PTRDIFF_MAX bytes; for direct use, a
    // larger count becomes a request that cannot succeed instead of a product
    // that wraps around to a small buffer.
    constexpr size_t kMaxBytes = PTRDIFF_MAX;
    size_t bytes =
        count <= kMaxBytes / sizeof(T) ? count * sizeof(T) : kMaxBytes;
    return static_cast<T *>(::operator new(bytes, std::align_val_t(Alignment)));
  }

  void deallocate(T *pointer, size_t /*count*/) noexcept {
    ::operator delete(pointer, std::align_val_t(Alignment));
  }

  friend bool operator==(const AlignedAllocator &,
                         const AlignedAllocator &) noexcept {
    return true;
  }
  friend bool operator!=(const AlignedAllocator &,
                         const AlignedAllocator &) noexcept {
    return false;
  }
};

/// Byte storage of a HostTensor: a vector whose data() is 64-byte aligned
/// whenever it is non-empty.
using ByteVector = std::vector<uint8_t, AlignedAllocator<uint8_t>>;

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_ALIGNEDALLOCATOR_H
