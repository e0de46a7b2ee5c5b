//===- ManifestFuzzer.cpp - Fuzz the artifact manifest reader -------------===//
//
// A manifest decides which library is loaded and how its entry points are
// called, so parseManifest must turn any byte string into either a valid
// manifest or an error message. An accepted manifest must pass
// validateManifest on its own and survive serializeManifest and a second
// parse unchanged: the writer relies on that to never produce a manifest
// the reader rejects.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheck.h"

#include "megalodon/runtime/Manifest.h"

#include <cstddef>
#include <cstdint>

using namespace megalodon::rt;

static bool sameSpecs(const std::vector<TensorSpec> &a,
                      const std::vector<TensorSpec> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].kind != b[i].kind ||
        a[i].dtype != b[i].dtype || a[i].shape != b[i].shape)
      return false;
  return true;
}

static bool sameManifest(const Manifest &a, const Manifest &b) {
  if (a.library != b.library || a.key != b.key ||
      a.configJson != b.configJson ||
      a.entryPoints.size() != b.entryPoints.size())
    return false;
  for (size_t i = 0; i < a.entryPoints.size(); ++i) {
    const EntryPoint &x = a.entryPoints[i], &y = b.entryPoints[i];
    if (x.name != y.name || x.symbol != y.symbol ||
        !sameSpecs(x.arguments, y.arguments) ||
        !sameSpecs(x.results, y.results))
      return false;
  }
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Manifest manifest;
  Status status = parseManifest(data, size, "fuzz", manifest);
  if (!status) {
    FUZZ_CHECK(manifest.entryPoints.empty() && manifest.library.empty());
    FUZZ_CHECK(!status.message().empty());
    return 0;
  }

  FUZZ_CHECK(validateManifest(manifest, "fuzz").ok());
  for (const EntryPoint &entry : manifest.entryPoints) {
    FUZZ_CHECK(manifest.findEntryPoint(entry.name) == &entry);
    for (const auto *list : {&entry.arguments, &entry.results})
      for (const TensorSpec &spec : *list)
        FUZZ_CHECK(spec.numel() >= 0);
  }

  std::string text = serializeManifest(manifest);
  Manifest again;
  Status reread = parseManifest(reinterpret_cast<const uint8_t *>(text.data()),
                                text.size(), "fuzz", again);
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(sameManifest(manifest, again));
  return 0;
}
