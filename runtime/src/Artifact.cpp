//===- Artifact.cpp - Loading and calling compiled artifacts ----*- C++ -*-===//
//
// Descriptors are built as flat arrays of 64-bit words. On the LP64 targets
// the compiler emits code for, a memref descriptor has no padding (two
// pointers, then int64 fields), so the word array has exactly the layout of
// the C struct the compiled code reads.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/Artifact.h"

#include "megalodon/runtime/Cuda.h"

#include "JsonText.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <set>
#include <unistd.h>
#if defined(__GLIBC__)
#include <link.h>
#include <malloc.h>
#endif

namespace megalodon::rt {

static_assert(sizeof(void *) == sizeof(int64_t),
              "memref descriptors are built for 64-bit pointers");

namespace {

/// Compiled code allocates its activation buffers with malloc and frees them
/// before it returns, every call. glibc serves each block above its mmap
/// threshold (at most 32 MiB) with fresh pages from mmap and unmaps it on
/// free, so every call of a long sequence paid a page fault and the kernel's
/// zeroing for every page of every large buffer: at L = 32768 the small
/// model's training step took 11.2 s instead of 6.7 s, and its time per
/// token grew 1.32x over L = 2048 instead of staying flat
/// (`megalodon-run bench --train --seq-len 2048 --seq-len 32768`). Serving
/// every block from the heap, and keeping freed memory there, lets the next
/// call reuse pages that are already mapped. The price is that the process
/// keeps its peak heap; MEGALODON_MALLOC=system leaves glibc's defaults.
void keepBuffersInHeap() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    const char *policy = std::getenv("MEGALODON_MALLOC");
    if (policy && std::strcmp(policy, "system") == 0)
      return;
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, -1);
  });
#endif
}

std::string quoted(const std::string &text) {
  return "'" + json::displayName(text) + "'";
}

/// The path of `name` inside `directory`. It always contains a '/', so that
/// dlopen opens exactly that file instead of searching the library path.
std::string pathInDirectory(const std::string &directory,
                            const std::string &name) {
  if (directory.empty())
    return "./" + name;
  if (directory.back() == '/')
    return directory + name;
  return directory + "/" + name;
}

/// The dynamic loader's last error, or a stand-in when it has none.
std::string loaderError() {
  const char *message = dlerror();
  return message ? message : "unknown error";
}

/// dlsym searches the library's dependencies too, so a manifest naming, say,
/// `free` as an entry point would resolve into the C library. Where the
/// loader can tell which object holds the address, only the artifact's own
/// library is accepted; `owner` receives the file that holds it otherwise.
bool definedByLibrary(void *handle, void *address, std::string &owner) {
#if defined(__GLIBC__)
  struct link_map *library = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &library) != 0 || !library)
    return true;
  Dl_info info;
  struct link_map *holder = nullptr;
  if (!dladdr1(address, &info, reinterpret_cast<void **>(&holder),
               RTLD_DL_LINKMAP) ||
      !holder)
    return true;
  if (holder == library)
    return true;
  owner = info.dli_fname ? info.dli_fname : "another object";
  return false;
#else
  (void)handle;
  (void)address;
  (void)owner;
  return true;
#endif
}

/// Checks one tensor against its manifest entry; `what` names it.
Status checkTensor(const TensorSpec &spec, const HostTensor &tensor,
                   const std::string &what) {
  if (tensor.dtype != spec.dtype)
    return Status::error(what + ": dtype " + dtypeName(tensor.dtype) +
                         ", expected " + dtypeName(spec.dtype));
  if (tensor.shape != spec.shape)
    return Status::error(what + ": shape " + shapeToString(tensor.shape) +
                         ", expected " + shapeToString(spec.shape));
  // The manifest guarantees this product does not overflow.
  uint64_t expected =
      static_cast<uint64_t>(spec.numel()) * dtypeSize(spec.dtype);
  if (tensor.bytes.size() != expected)
    return Status::error(
        what + ": holds " + std::to_string(tensor.bytes.size()) +
        " bytes, but its shape needs " + std::to_string(expected));
  return Status::success();
}

/// Appends the descriptor of a contiguous row-major memref over `data`.
void appendDescriptor(const std::vector<int64_t> &shape, void *data,
                      std::vector<int64_t> &words) {
  int64_t pointerBits;
  std::memcpy(&pointerBits, &data, sizeof(pointerBits));
  words.push_back(pointerBits); // allocated
  words.push_back(pointerBits); // aligned
  words.push_back(0);           // offset
  words.insert(words.end(), shape.begin(), shape.end());
  size_t stridesAt = words.size();
  words.resize(stridesAt + shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    words[stridesAt + i] = stride;
    stride *= shape[i];
  }
}

size_t descriptorWords(const std::vector<int64_t> &shape) {
  return 3 + 2 * shape.size();
}

} // namespace

std::vector<HostTensor> allocateResults(const EntryPoint &entry) {
  std::vector<HostTensor> results;
  results.reserve(entry.results.size());
  for (const TensorSpec &spec : entry.results)
    results.push_back(HostTensor::zeros(spec.dtype, spec.shape));
  return results;
}

Status Artifact::load(const std::string &directory,
                      std::unique_ptr<Artifact> &out) {
  out.reset();
  keepBuffersInHeap();
  Manifest manifest;
  if (Status s =
          readManifest(pathInDirectory(directory, kManifestFileName), manifest);
      !s)
    return s;

  std::string prefix = "artifact '" + directory + "': ";
  std::string libraryPath = pathInDirectory(directory, manifest.library);
  // A CUDA artifact's library loads its kernels when it is opened.
  bool onGpu = manifest.backend == "cuda";
  if (onGpu) {
    if (Status s = cuda::initialize(); !s)
      return Status::error(prefix + s.message());
    // What each kernel computes and moves, for benchmarks' rates; older
    // artifacts have no list.
    std::string costsPath = pathInDirectory(directory, kKernelCostsFileName);
    if (access(costsPath.c_str(), F_OK) == 0) {
      KernelCosts costs;
      if (Status s = readKernelCosts(costsPath, costs); !s)
        return Status::error(prefix + s.message());
      cuda::registerKernelCosts(costs);
    }
  }
  // RTLD_NOW reports unresolved references here rather than at the first
  // call; RTLD_LOCAL keeps one artifact's symbols from satisfying another's.
  dlerror();
  void *handle = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return Status::error(prefix + "cannot load library " +
                         quoted(manifest.library) + ": " + loaderError());
  if (onGpu)
    if (Status s = cuda::synchronize(); !s) {
      dlclose(handle);
      return Status::error(prefix + s.message());
    }

  // From here on the destructor closes the library on every path out.
  std::unique_ptr<Artifact> artifact(new Artifact());
  artifact->library = handle;
  artifact->dir = directory;
  for (const EntryPoint &entry : manifest.entryPoints) {
    std::string what = prefix + "entry point " + quoted(entry.name) +
                       ": symbol " + quoted(entry.symbol);
    dlerror();
    void *address = dlsym(handle, entry.symbol.c_str());
    if (const char *error = dlerror())
      return Status::error(what + " not found: " + error);
    if (!address)
      return Status::error(what + " resolves to a null address");
    std::string owner;
    if (!definedByLibrary(handle, address, owner))
      return Status::error(what + " is not defined by " +
                           quoted(manifest.library) + " but by " +
                           quoted(owner));
    artifact->functions.push_back(reinterpret_cast<EntryFunction>(address));
  }
  artifact->info = std::move(manifest);
  out = std::move(artifact);
  return Status::success();
}

Artifact::~Artifact() {
  if (library)
    dlclose(library);
}

Status Artifact::call(const EntryPoint &entry,
                      const std::vector<const HostTensor *> &arguments,
                      std::vector<HostTensor> &results) const {
  std::string prefix =
      "artifact '" + dir + "': entry point " + quoted(entry.name) + ": ";
  // Identity, not name: a spec from another artifact may differ in its
  // signature even when the names agree.
  size_t index = 0;
  while (index < info.entryPoints.size() && &info.entryPoints[index] != &entry)
    ++index;
  if (index == info.entryPoints.size())
    return Status::error(prefix + "does not belong to this artifact");

  if (arguments.size() != entry.arguments.size())
    return Status::error(prefix + "expected " +
                         std::to_string(entry.arguments.size()) +
                         " arguments, got " + std::to_string(arguments.size()));
  if (results.size() != entry.results.size())
    return Status::error(prefix + "expected " +
                         std::to_string(entry.results.size()) +
                         " results, got " + std::to_string(results.size()));

  size_t wordCount = 0;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const TensorSpec &spec = entry.arguments[i];
    std::string what = prefix + "argument " + quoted(spec.name);
    if (!arguments[i])
      return Status::error(what + ": is null");
    if (Status s = checkTensor(spec, *arguments[i], what); !s)
      return s;
    wordCount += descriptorWords(spec.shape);
  }
  std::set<const uint8_t *> resultBuffers;
  for (size_t i = 0; i < results.size(); ++i) {
    const TensorSpec &spec = entry.results[i];
    if (Status s = checkTensor(spec, results[i],
                               prefix + "result " + quoted(spec.name));
        !s)
      return s;
    if (!results[i].bytes.empty())
      resultBuffers.insert(results[i].bytes.data());
    wordCount += descriptorWords(spec.shape);
  }
  // Distinct vectors never overlap partially, so comparing starts suffices.
  for (size_t i = 0; i < arguments.size(); ++i)
    if (!arguments[i]->bytes.empty() &&
        resultBuffers.count(arguments[i]->bytes.data()))
      return Status::error(prefix + "argument " +
                           quoted(entry.arguments[i].name) +
                           ": shares its buffer with a result");

  // CUDA artifacts get every tensor staged in GPU-addressable memory.
  bool onGpu = info.backend == "cuda";
  std::vector<void *> staged;
  auto releaseStaged = [&] {
    for (void *buffer : staged)
      cuda::release(buffer);
  };
  // Arguments are copied in; results are only written by the compiled code.
  auto bufferOf = [&](const HostTensor &tensor, bool copyIn) -> uint8_t * {
    // The calling convention has no const; compiled code only reads
    // arguments.
    auto *host = const_cast<uint8_t *>(tensor.bytes.data());
    if (!onGpu)
      return host;
    void *buffer = cuda::allocate(tensor.bytes.size());
    staged.push_back(buffer);
    if (buffer && copyIn && !tensor.bytes.empty())
      std::memcpy(buffer, host, tensor.bytes.size());
    return static_cast<uint8_t *>(buffer);
  };

  std::vector<int64_t> words;
  words.reserve(wordCount);
  std::vector<size_t> starts;
  starts.reserve(arguments.size() + results.size());
  for (const HostTensor *argument : arguments) {
    starts.push_back(words.size());
    appendDescriptor(argument->shape, bufferOf(*argument, true), words);
  }
  for (HostTensor &result : results) {
    starts.push_back(words.size());
    appendDescriptor(result.shape, bufferOf(result, false), words);
  }
  if (onGpu)
    if (Status s = cuda::synchronize(); !s) {
      releaseStaged();
      return Status::error(prefix + s.message());
    }
  std::vector<void *> descriptors;
  descriptors.reserve(starts.size());
  for (size_t start : starts)
    descriptors.push_back(words.data() + start);

  functions[index](descriptors.data());
  if (!onGpu)
    return Status::success();
  // The compiled code waits for its launches before it returns.
  Status status = cuda::synchronize();
  for (size_t i = 0; status.ok() && i < results.size(); ++i)
    if (!results[i].bytes.empty())
      std::memcpy(results[i].bytes.data(), staged[arguments.size() + i],
                  results[i].bytes.size());
  releaseStaged();
  if (!status.ok())
    return Status::error(prefix + status.message());
  return Status::success();
}

} // namespace megalodon::rt
