//===- CudaBackend.cpp - CUDA driver API over dlopen, and the launch ABI --===//

#include "megalodon/runtime/Cuda.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace megalodon::rt::cuda {
namespace {

// The few driver API types and constants used here, from the CUDA driver
// API reference (cuda.h is not needed to build).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
constexpr CUresult kSuccess = 0;
constexpr int kAttributeMultiprocessors = 16;
constexpr int kAttributeComputeMajor = 75;
constexpr int kAttributeComputeMinor = 76;
constexpr int kLimitMallocHeapSize = 0x02;
constexpr unsigned kMemAttachGlobal = 0x1;
constexpr unsigned kStreamNonBlocking = 0x1;
constexpr unsigned kEventDefault = 0x0;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;
constexpr int kJitOptimizationLevel = 7;
/// Device-side malloc (per-thread scratch buffers of kernels) gets this
/// much of the device's memory instead of the driver's 8 MiB default.
constexpr size_t kDeviceHeapBytes = size_t(1) << 30;
/// Allocation keeps this much device memory free for the driver and the
/// device heap.
constexpr size_t kReserveBytes = size_t(256) << 20;

struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*driverGetVersion)(int *);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*deviceTotalMem)(size_t *, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxSetLimit)(int, size_t);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memGetInfo)(size_t *, size_t *);
  CUresult (*moduleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                               void **);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*eventDestroy)(CUevent);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*getErrorString)(CUresult, const char **);
};

struct Backend {
  std::mutex mutex;
  bool initialized = false;
  Status initStatus = Status::success();
  Driver api{};
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  DeviceInfo info;
  /// The first error since the last synchronize().
  std::string pendingError;
  /// Names of the functions compiled code looked up, for messages.
  std::unordered_map<CUfunction, std::string> kernelNames;
  std::string lastKernel;
  bool syncEveryLaunch = false;
  /// Pool of freed buffers by size, and the size of every live buffer.
  std::multimap<size_t, void *> pool;
  std::unordered_map<void *, size_t> sizes;
  std::atomic<long long> launches{0};
  /// Kernel timing (MEGALODON_CUDA_PROFILE=1 or setKernelProfiling): an
  /// event pair around every launch, read at the next synchronization.
  bool profiling = false;
  struct TimedLaunch {
    std::string kernel;
    CUevent start, end;
  };
  std::vector<TimedLaunch> timedLaunches;
  std::vector<CUevent> spareEvents;
  std::map<std::string, KernelTime> kernelTimes;
  KernelCosts kernelCosts;
};

Backend &backend() {
  static Backend *instance = new Backend(); // Outlives artifact destructors.
  return *instance;
}

std::string describe(const Driver &api, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (api.getErrorName)
    api.getErrorName(result, &name);
  if (api.getErrorString)
    api.getErrorString(result, &text);
  std::string out = name ? name : "CUDA error " + std::to_string(result);
  if (text)
    out += std::string(" (") + text + ")";
  return out;
}

/// Remembers the first error; later ones are consequences of it.
void fail(Backend &b, const std::string &message) {
  if (b.pendingError.empty())
    b.pendingError = message;
}

template <typename F> bool resolve(void *library, const char *name, F &out) {
  void *symbol = nullptr;
  for (std::string candidate : {std::string(name) + "_v2", std::string(name)})
    if ((symbol = dlsym(library, candidate.c_str())))
      break;
  out = reinterpret_cast<F>(symbol);
  return symbol != nullptr;
}

Status openDriver(Backend &b) {
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!library) {
    const char *why = dlerror();
    return Status::error(std::string("no CUDA driver: cannot open "
                                     "libcuda.so.1 (") +
                         (why ? why : "unknown reason") + ")");
  }
  Driver &api = b.api;
  // Only for messages; describe() copes without them.
  resolve(library, "cuGetErrorName", api.getErrorName);
  resolve(library, "cuGetErrorString", api.getErrorString);
#define MEGALODON_RESOLVE(field, name)                                         \
  if (!resolve(library, name, api.field))                                      \
    return Status::error(std::string("CUDA driver lacks ") + name);
  MEGALODON_RESOLVE(init, "cuInit")
  MEGALODON_RESOLVE(driverGetVersion, "cuDriverGetVersion")
  MEGALODON_RESOLVE(deviceGetCount, "cuDeviceGetCount")
  MEGALODON_RESOLVE(deviceGet, "cuDeviceGet")
  MEGALODON_RESOLVE(deviceGetName, "cuDeviceGetName")
  MEGALODON_RESOLVE(deviceGetAttribute, "cuDeviceGetAttribute")
  MEGALODON_RESOLVE(deviceTotalMem, "cuDeviceTotalMem")
  MEGALODON_RESOLVE(primaryCtxRetain, "cuDevicePrimaryCtxRetain")
  MEGALODON_RESOLVE(ctxSetCurrent, "cuCtxSetCurrent")
  MEGALODON_RESOLVE(ctxSetLimit, "cuCtxSetLimit")
  MEGALODON_RESOLVE(streamCreate, "cuStreamCreate")
  MEGALODON_RESOLVE(streamSynchronize, "cuStreamSynchronize")
  MEGALODON_RESOLVE(memAllocManaged, "cuMemAllocManaged")
  MEGALODON_RESOLVE(memFree, "cuMemFree")
  MEGALODON_RESOLVE(memGetInfo, "cuMemGetInfo")
  MEGALODON_RESOLVE(moduleLoadDataEx, "cuModuleLoadDataEx")
  MEGALODON_RESOLVE(moduleUnload, "cuModuleUnload")
  MEGALODON_RESOLVE(moduleGetFunction, "cuModuleGetFunction")
  MEGALODON_RESOLVE(launchKernel, "cuLaunchKernel")
  MEGALODON_RESOLVE(eventCreate, "cuEventCreate")
  MEGALODON_RESOLVE(eventRecord, "cuEventRecord")
  MEGALODON_RESOLVE(eventElapsedTime, "cuEventElapsedTime")
  MEGALODON_RESOLVE(eventDestroy, "cuEventDestroy")
#undef MEGALODON_RESOLVE
  return Status::success();
}

Status check(Backend &b, CUresult result, const char *what) {
  if (result == kSuccess)
    return Status::success();
  return Status::error(std::string(what) + " failed: " +
                       describe(b.api, result));
}

Status initializeLocked(Backend &b) {
  if (Status s = openDriver(b); !s)
    return s;
  Driver &api = b.api;
  if (Status s = check(b, api.init(0), "cuInit"); !s)
    return Status::error("no usable CUDA driver: " + s.message());
  int count = 0;
  if (Status s = check(b, api.deviceGetCount(&count), "cuDeviceGetCount"); !s)
    return s;
  if (count == 0)
    return Status::error("no CUDA device");
  if (Status s = check(b, api.deviceGet(&b.device, 0), "cuDeviceGet"); !s)
    return s;
  if (Status s = check(b, api.primaryCtxRetain(&b.context, b.device),
                       "cuDevicePrimaryCtxRetain");
      !s)
    return s;
  if (Status s = check(b, api.ctxSetCurrent(b.context), "cuCtxSetCurrent");
      !s)
    return s;
  if (Status s = check(b, api.ctxSetLimit(kLimitMallocHeapSize,
                                          kDeviceHeapBytes),
                       "setting the device heap size");
      !s)
    return s;
  if (Status s = check(b, api.streamCreate(&b.stream, kStreamNonBlocking),
                       "cuStreamCreate");
      !s)
    return s;
  char name[256] = {0};
  api.deviceGetName(name, sizeof(name) - 1, b.device);
  b.info.name = name;
  api.deviceGetAttribute(&b.info.computeMajor, kAttributeComputeMajor,
                         b.device);
  api.deviceGetAttribute(&b.info.computeMinor, kAttributeComputeMinor,
                         b.device);
  api.deviceGetAttribute(&b.info.multiprocessors, kAttributeMultiprocessors,
                         b.device);
  api.deviceTotalMem(&b.info.totalMemory, b.device);
  api.driverGetVersion(&b.info.driverVersion);
  const char *sync = std::getenv("MEGALODON_CUDA_SYNC");
  b.syncEveryLaunch = sync && std::string(sync) == "1";
  const char *profile = std::getenv("MEGALODON_CUDA_PROFILE");
  b.profiling = profile && std::string(profile) == "1";
  return Status::success();
}

/// Compiled code may call in from any thread; the context must be current.
bool ready(Backend &b) {
  if (!b.initialized || !b.initStatus.ok()) {
    fail(b, "the CUDA backend is not initialized");
    return false;
  }
  b.api.ctxSetCurrent(b.context);
  return true;
}

void *allocateLocked(Backend &b, size_t bytes) {
  // Sizes are rounded so that pooled buffers fit more requests.
  bytes = (bytes + 255) & ~size_t(255);
  if (bytes == 0)
    bytes = 256;
  auto pooled = b.pool.find(bytes);
  if (pooled != b.pool.end()) {
    void *buffer = pooled->second;
    b.pool.erase(pooled);
    return buffer;
  }
  size_t free = 0, total = 0;
  b.api.memGetInfo(&free, &total);
  if (free < bytes + kReserveBytes && !b.pool.empty()) {
    // Return pooled buffers to the driver once all work using them is done.
    b.api.streamSynchronize(b.stream);
    for (auto &[size, buffer] : b.pool) {
      b.api.memFree(reinterpret_cast<CUdeviceptr>(buffer));
      b.sizes.erase(buffer);
    }
    b.pool.clear();
    b.api.memGetInfo(&free, &total);
  }
  if (free < bytes + kReserveBytes) {
    fail(b, "out of GPU memory: a buffer of " + std::to_string(bytes) +
                " bytes does not fit in the " + std::to_string(free) +
                " bytes free");
    return nullptr;
  }
  CUdeviceptr address = 0;
  CUresult result = b.api.memAllocManaged(&address, bytes, kMemAttachGlobal);
  if (result != kSuccess) {
    fail(b, "allocating " + std::to_string(bytes) +
                " bytes of GPU memory failed: " + describe(b.api, result));
    return nullptr;
  }
  void *buffer = reinterpret_cast<void *>(address);
  b.sizes[buffer] = bytes;
  return buffer;
}

CUevent takeEvent(Backend &b) {
  if (!b.spareEvents.empty()) {
    CUevent event = b.spareEvents.back();
    b.spareEvents.pop_back();
    return event;
  }
  CUevent event = nullptr;
  if (b.api.eventCreate(&event, kEventDefault) != kSuccess)
    return nullptr;
  return event;
}

/// Adds the times of the launches timed since the last synchronization
/// (their events have completed) to the per-kernel totals.
void collectKernelTimes(Backend &b) {
  for (Backend::TimedLaunch &launch : b.timedLaunches) {
    float ms = 0.0f;
    if (b.api.eventElapsedTime(&ms, launch.start, launch.end) == kSuccess) {
      KernelTime &total = b.kernelTimes[launch.kernel];
      total.kernel = launch.kernel;
      total.launches += 1;
      total.milliseconds += ms;
    }
    b.spareEvents.push_back(launch.start);
    b.spareEvents.push_back(launch.end);
  }
  b.timedLaunches.clear();
}

/// Waits for the stream; a failure names the last kernel launched.
void waitForStream(Backend &b) {
  CUresult result = b.api.streamSynchronize(b.stream);
  if (result != kSuccess)
    fail(b, "kernel execution failed: " + describe(b.api, result) +
                " (last kernel launched: " + b.lastKernel + ")");
  else
    collectKernelTimes(b);
}

Status synchronizeLocked(Backend &b) {
  waitForStream(b);
  if (b.pendingError.empty())
    return Status::success();
  Status status = Status::error(b.pendingError);
  b.pendingError.clear();
  return status;
}

} // namespace

Status initialize() {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (!b.initialized) {
    b.initStatus = initializeLocked(b);
    b.initialized = true;
  }
  return b.initStatus;
}

Status deviceInfo(DeviceInfo &out) {
  if (Status s = initialize(); !s)
    return s;
  out = backend().info;
  return Status::success();
}

Status synchronize() {
  if (Status s = initialize(); !s)
    return s;
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  b.api.ctxSetCurrent(b.context);
  return synchronizeLocked(b);
}

void *allocate(size_t bytes) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (!ready(b))
    return nullptr;
  return allocateLocked(b, bytes);
}

void release(void *buffer) {
  if (!buffer)
    return;
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  auto size = b.sizes.find(buffer);
  if (size == b.sizes.end()) {
    fail(b, "freeing a buffer the CUDA backend did not allocate");
    return;
  }
  // Stream order makes reuse safe: later launches run after the ones that
  // still use it, and the host touches buffers only after a sync.
  b.pool.emplace(size->second, buffer);
}

long long launchCount() { return backend().launches.load(); }

void setKernelProfiling(bool on) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  b.profiling = on;
}

void registerKernelCosts(const KernelCosts &costs) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  for (const auto &[name, cost] : costs)
    b.kernelCosts[name] = cost;
}

std::vector<KernelTime> takeKernelProfile() {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  std::vector<KernelTime> out;
  for (auto &[name, time] : b.kernelTimes) {
    out.push_back(time);
    auto cost = b.kernelCosts.find(name);
    if (cost != b.kernelCosts.end())
      out.back().cost = cost->second;
  }
  b.kernelTimes.clear();
  return out;
}

} // namespace megalodon::rt::cuda

//===----------------------------------------------------------------------===//
// The launch ABI called by compiled host code.
//===----------------------------------------------------------------------===//

using namespace megalodon::rt::cuda;

extern "C" {

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (!ready(b))
    return nullptr;
  char log[8192] = {0};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize,
                   kJitOptimizationLevel};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log) - 1),
                    reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  CUmodule module = nullptr;
  CUresult result = b.api.moduleLoadDataEx(&module, data, 3, options, values);
  if (result != kSuccess) {
    fail(b, "loading a PTX module failed: " + describe(b.api, result) +
                (log[0] ? std::string(": ") + log : std::string()));
    return nullptr;
  }
  return module;
}

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (!ready(b))
    return nullptr;
  CUmodule module = nullptr;
  CUresult result = b.api.moduleLoadDataEx(&module, data, 0, nullptr, nullptr);
  if (result != kSuccess) {
    fail(b, "loading a GPU module failed: " + describe(b.api, result));
    return nullptr;
  }
  return module;
}

void mgpuModuleUnload(void *module) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (module && b.initialized && b.initStatus.ok())
    b.api.moduleUnload(static_cast<CUmodule>(module));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (!ready(b) || !module) {
    fail(b, std::string("kernel ") + name + " is not loaded");
    return nullptr;
  }
  CUfunction function = nullptr;
  CUresult result = b.api.moduleGetFunction(
      &function, static_cast<CUmodule>(module), name);
  if (result != kSuccess) {
    fail(b, std::string("kernel ") + name +
                " not found: " + describe(b.api, result));
    return nullptr;
  }
  b.kernelNames[function] = name;
  return function;
}

/// One stream for everything: launches are ordered, and the host waits only
/// in megalodon_gpu_sync.
void *mgpuStreamCreate() {
  Backend &b = backend();
  return b.stream;
}

void mgpuStreamDestroy(void *) {}

/// The lowering of a synchronous gpu.launch_func waits after every launch;
/// the compiled code says where the host needs results instead (see
/// megalodon_gpu_sync), so this waits only under MEGALODON_CUDA_SYNC=1,
/// which pins an asynchronous kernel failure on the kernel that caused it.
void mgpuStreamSynchronize(void *) {
  Backend &b = backend();
  if (!b.syncEveryLaunch)
    return;
  std::lock_guard<std::mutex> lock(b.mutex);
  CUresult result = b.api.streamSynchronize(b.stream);
  if (result != kSuccess)
    fail(b, "kernel " + b.lastKernel + " failed: " + describe(b.api, result));
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void * /*stream*/,
                      void **params, void **extra, size_t /*paramCount*/) {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  // After a failure, later kernels would only read garbage.
  if (!b.pendingError.empty() || !ready(b) || !function)
    return;
  auto fn = static_cast<CUfunction>(function);
  auto name = b.kernelNames.find(fn);
  b.lastKernel = name == b.kernelNames.end() ? "?" : name->second;
  CUevent start = nullptr, end = nullptr;
  if (b.profiling && (start = takeEvent(b)) && (end = takeEvent(b))) {
    b.api.eventRecord(start, b.stream);
  }
  CUresult result = b.api.launchKernel(
      fn, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, b.stream,
      params, extra);
  ++b.launches;
  if (end) {
    b.api.eventRecord(end, b.stream);
    b.timedLaunches.push_back({b.lastKernel, start, end});
  } else if (start) {
    b.spareEvents.push_back(start);
  }
  if (result != kSuccess)
    fail(b, "launch of kernel " + b.lastKernel + " (grid " +
                std::to_string(gridX) + ", block " + std::to_string(blockX) +
                ") failed: " + describe(b.api, result));
}

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool /*hostShared*/) {
  return allocate(bytes);
}

void mgpuMemFree(void *buffer, void * /*stream*/) { release(buffer); }

void megalodon_gpu_sync() {
  Backend &b = backend();
  std::lock_guard<std::mutex> lock(b.mutex);
  if (!b.initialized || !b.initStatus.ok())
    return;
  waitForStream(b);
}

void megalodon_gpu_free(int64_t address) {
  release(reinterpret_cast<void *>(address));
}

} // extern "C"
