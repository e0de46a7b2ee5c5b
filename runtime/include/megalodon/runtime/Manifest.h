//===- Manifest.h - Compiled artifact manifests -----------------*- C++ -*-===//
//
// A compiled artifact is a directory holding `manifest.json` and a shared
// library. The manifest (format "megalodon-artifact", version 1) names the
// library, carries the cache key and model config the artifact was built
// from, and describes every entry point: its symbol and the dtype and shape of
// each argument and result, in calling order.
//
//   {
//     "format": "megalodon-artifact", "version": 1,
//     "library": "model.so", "key": "<hex>", "config": "<config JSON>",
//     "entry_points": [
//       {"name": "loss", "symbol": "megalodon_entry_loss",
//        "arguments": [{"name": "tokens", "kind": "input", "dtype": "I32",
//                       "shape": [1, 16]}, ...],
//        "results": [{"name": "loss", "kind": "output", "dtype": "F32",
//                     "shape": []}]}]
//   }
//
// The reader treats a manifest as hostile: every field is checked, unknown
// fields are rejected, and every failure is a one-line message naming the
// manifest and the field ("entry_points[0].arguments[2].dtype").
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_MANIFEST_H
#define MEGALODON_RUNTIME_MANIFEST_H

#include "megalodon/runtime/HostTensor.h"
#include "megalodon/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace megalodon::rt {

inline constexpr const char *kManifestFormat = "megalodon-artifact";
inline constexpr int64_t kManifestVersion = 1;
inline constexpr const char *kManifestFileName = "manifest.json";
/// Manifests hold descriptions, not data; anything larger is rejected before
/// it is read.
inline constexpr size_t kMaxManifestSize = 16u << 20;
/// Memrefs of higher rank do not occur in a model; the bound keeps
/// descriptors small.
inline constexpr size_t kMaxTensorRank = 16;

/// The role of a tensor in a call. Arguments may be inputs, parameters or
/// state; results may be outputs, state or parameters (updated in place by,
/// say, an optimizer step). Inputs are never results and outputs never
/// arguments.
enum class TensorKind : uint8_t { Input, Param, State, Output };

/// The manifest spelling: "input", "param", "state", "output".
const char *tensorKindName(TensorKind kind);
/// Parses a manifest spelling; returns false for anything else.
bool parseTensorKind(const std::string &name, TensorKind &kind);

/// One argument or result of an entry point.
struct TensorSpec {
  std::string name;
  TensorKind kind = TensorKind::Input;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;

  int64_t numel() const;
};

/// One callable function of the artifact's library.
struct EntryPoint {
  /// What callers ask for ("loss").
  std::string name;
  /// The exported C symbol, `void symbol(void **descriptors)`.
  std::string symbol;
  std::vector<TensorSpec> arguments;
  std::vector<TensorSpec> results;
};

struct Manifest {
  /// File name of the shared library inside the artifact directory.
  std::string library;
  /// Cache key the artifact was built under; opaque to the runtime.
  std::string key;
  /// Model config JSON; opaque to the runtime.
  std::string configJson;
  /// Where the library's code runs: "cpu", or "cuda" (host code that
  /// launches GPU kernels through the runtime's CUDA backend, on buffers
  /// the runtime stages in GPU-addressable memory).
  std::string backend = "cpu";
  std::vector<EntryPoint> entryPoints;

  /// The entry point called `name`, or null.
  const EntryPoint *findEntryPoint(const std::string &name) const;
};

/// Checks the rules the JSON form cannot express on its own: a library file
/// name without '/', non-empty unique names, C identifiers as symbols,
/// non-negative shapes whose byte size fits in int64, kinds allowed for their
/// position, at least one entry point. `origin` starts every message.
Status validateManifest(const Manifest &manifest, const std::string &origin);

/// Parses and validates a manifest held in memory. On failure `out` is left
/// empty.
Status parseManifest(const uint8_t *data, size_t size,
                     const std::string &origin, Manifest &out);

/// Reads and validates a manifest file.
Status readManifest(const std::string &path, Manifest &out);

/// Renders a manifest as JSON text (one tensor per line), without validating
/// it.
std::string serializeManifest(const Manifest &manifest);

/// Validates `manifest` and writes it atomically (temporary file, then
/// rename), so that a reader never sees a partial manifest. Strings must be
/// valid UTF-8; the written text is parsed back before it replaces `path`.
Status writeManifest(const std::string &path, const Manifest &manifest);

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_MANIFEST_H
