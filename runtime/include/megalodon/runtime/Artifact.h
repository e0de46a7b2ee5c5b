//===- Artifact.h - Loading and calling compiled artifacts ------*- C++ -*-===//
//
// An artifact is a directory holding `manifest.json` (see Manifest.h) and the
// shared library it names. Loading reads the manifest, opens the library and
// resolves every entry point's symbol up front, so that a broken artifact
// fails at load time rather than at its first call.
//
// Calling convention: every entry point has the C signature
// `void symbol(void **descriptors)`. descriptors[i] points to the MLIR
// strided-memref descriptor of the i-th argument, followed by one descriptor
// per result. A rank-R descriptor for element type T is
//   struct { T *allocated; T *aligned; int64_t offset;
//            int64_t sizes[R]; int64_t strides[R]; }
// (rank 0: the first three fields only). The runtime passes row-major
// contiguous strides, offset 0, and allocated == aligned == the tensor's data.
// Results are buffers the caller allocates and the compiled code fills; the
// compiled code must not write to arguments.
//
// The manifest is checked as hostile input; the library is code and must be
// trusted, since opening it runs its initializers.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_ARTIFACT_H
#define MEGALODON_RUNTIME_ARTIFACT_H

#include "megalodon/runtime/HostTensor.h"
#include "megalodon/runtime/Manifest.h"
#include "megalodon/runtime/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace megalodon::rt {

/// Zero-filled result buffers of the dtypes and shapes `entry` declares, in
/// order, ready to pass to Artifact::call.
std::vector<HostTensor> allocateResults(const EntryPoint &entry);

/// A loaded artifact. The library stays open for the object's lifetime.
class Artifact {
public:
  /// Reads `directory`/manifest.json, opens the library it names with
  /// dlopen(RTLD_NOW | RTLD_LOCAL) and resolves every entry point's symbol.
  /// Errors name the manifest field, the library file or the symbol, with the
  /// dynamic loader's own message where it has one. On failure `out` is
  /// reset.
  static Status load(const std::string &directory,
                     std::unique_ptr<Artifact> &out);

  ~Artifact();
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  const std::string &directory() const { return dir; }
  const Manifest &manifest() const { return info; }
  const std::string &key() const { return info.key; }
  const std::string &configJson() const { return info.configJson; }
  /// The entry point called `name`, or null.
  const EntryPoint *entryPoint(const std::string &name) const {
    return info.findEntryPoint(name);
  }

  /// Calls `entry`, which must come from this artifact's manifest. Every
  /// argument and result is checked against the manifest first (count, dtype,
  /// shape, byte size; messages name the tensor), and no argument may share
  /// its buffer with a result, since the compiled code assumes they do not
  /// alias. `results` must already have the declared dtypes and shapes (see
  /// allocateResults); the compiled code overwrites their contents.
  Status call(const EntryPoint &entry,
              const std::vector<const HostTensor *> &arguments,
              std::vector<HostTensor> &results) const;

private:
  using EntryFunction = void (*)(void **);

  Artifact() = default;

  std::string dir;
  Manifest info;
  /// The dlopen handle; closed by the destructor.
  void *library = nullptr;
  /// The resolved symbol of each entry point, parallel to info.entryPoints.
  std::vector<EntryFunction> functions;
};

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_ARTIFACT_H
