//===- Cuda.h - The CUDA backend of the runtime -----------------*- C++ -*-===//
//
// Runs artifacts compiled by the GPU pipeline. The CUDA driver API is opened
// with dlopen (libcuda.so.1), so nothing links against CUDA and a machine
// without a driver gets one clear error at the first use. The backend owns
// one context (device 0's primary context) and one stream; every launch of
// compiled code goes to that stream in order.
//
// Compiled host code reaches the backend through the mgpu* launch ABI
// (module load, function lookup, launch, allocation) that MLIR's
// gpu-to-llvm lowering and its binary embedding emit, plus two calls of our
// own: megalodon_gpu_sync (wait for the stream where the host is about to
// read or write buffers) and megalodon_gpu_free. Those symbols are exported
// by the executable that links the runtime (ENABLE_EXPORTS) and bind when an
// artifact's library is opened.
//
// Buffers are CUDA managed memory, so the host part of compiled code (scalar
// bookkeeping, constant tables) and the kernels address the same pointers.
// Freed buffers go to a pool by size and are reused in stream order.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_CUDA_H
#define MEGALODON_RUNTIME_CUDA_H

#include "megalodon/runtime/KernelCosts.h"
#include "megalodon/runtime/Status.h"

#include <cstddef>
#include <string>
#include <vector>

namespace megalodon::rt::cuda {

/// Opens the driver, picks device 0 and makes its primary context current.
/// Idempotent; the first failure is remembered and returned again ("no CUDA
/// driver: ...", "no CUDA device", ...).
Status initialize();

struct DeviceInfo {
  std::string name;
  int computeMajor = 0, computeMinor = 0;
  int multiprocessors = 0;
  size_t totalMemory = 0;
  int driverVersion = 0;
};
/// The device initialize() selected.
Status deviceInfo(DeviceInfo &out);

/// Waits for every launch so far and returns the first error any launch,
/// allocation or module load reported since the last call (naming the
/// kernel where one is known), then clears it.
Status synchronize();

/// A buffer of `bytes` that both the host and kernels address (from the
/// pool where one of that size is free). Null with an error remembered for
/// synchronize() when the device has too little memory.
void *allocate(size_t bytes);
/// Returns a buffer from allocate() to the pool.
void release(void *buffer);

/// Kernel launches since initialize(), for benchmarks.
long long launchCount();

/// Device time of one kernel, summed over its launches.
struct KernelTime {
  std::string kernel;
  long long launches = 0;
  double milliseconds = 0.0;
  /// One launch's FLOPs and bytes, from registerKernelCosts (flops -1 and
  /// bytes 0 when none was registered).
  KernelCost cost;
};
/// Costs of the kernels of a loaded artifact (its kernel-costs.tsv), by
/// kernel name; a later artifact's entries replace earlier ones of the same
/// name.
void registerKernelCosts(const KernelCosts &costs);
/// Times every launch from now on with a pair of events on the stream
/// (also on when MEGALODON_CUDA_PROFILE=1). The timing itself serializes
/// nothing, but the events cost a little per launch.
void setKernelProfiling(bool on);
/// The per-kernel totals of the launches synchronized since the last call,
/// by kernel name; clears them.
std::vector<KernelTime> takeKernelProfile();

} // namespace megalodon::rt::cuda

#endif // MEGALODON_RUNTIME_CUDA_H
