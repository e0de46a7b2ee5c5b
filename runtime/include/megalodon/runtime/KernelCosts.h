//===- KernelCosts.h - FLOPs and bytes of each kernel launch ----*- C++ -*-===//
//
// A GPU artifact lists, per kernel, what one launch computes and moves, as
// the compiler counted it (megalodon-estimate-kernel-costs); benchmarks
// divide by measured kernel times. One line per kernel, tab-separated:
//
//   forward_kernel_3<TAB>131072<TAB>1048576
//
// name, FLOPs (-1: not known statically), bytes. The reader treats the file
// as hostile: a malformed line is a one-line error naming the file and the
// line.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_KERNELCOSTS_H
#define MEGALODON_RUNTIME_KERNELCOSTS_H

#include "megalodon/runtime/Status.h"

#include <map>
#include <string>

namespace megalodon::rt {

inline constexpr const char *kKernelCostsFileName = "kernel-costs.tsv";

/// What one launch of a kernel does.
struct KernelCost {
  /// Floating-point operations; -1 when a trip count is not static.
  long long flops = -1;
  /// Bytes of the buffers the kernel touches, each once.
  long long bytes = 0;
};

/// Kernel name -> cost of one launch.
using KernelCosts = std::map<std::string, KernelCost>;

/// Writes `costs` to `path` atomically.
Status writeKernelCosts(const std::string &path, const KernelCosts &costs);

/// Reads a file written by writeKernelCosts into `out` (cleared first).
Status readKernelCosts(const std::string &path, KernelCosts &out);

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_KERNELCOSTS_H
