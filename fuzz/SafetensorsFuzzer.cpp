//===- SafetensorsFuzzer.cpp - Fuzz the safetensors reader ----------------===//
//
// Checkpoints and decoding states come from disk, so parseSafetensors must
// turn any byte string into either tensors or an error message. What it
// accepts must also be what the writer would produce for those tensors:
// every tensor holds exactly the bytes its shape needs, and serializing the
// result and reading it back gives the same tensors and metadata.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheck.h"

#include "megalodon/runtime/Safetensors.h"

#include <cstddef>
#include <cstdint>

using namespace megalodon::rt;

static bool sameTensors(const TensorMap &a, const TensorMap &b) {
  if (a.size() != b.size())
    return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
    if (ia->first != ib->first || ia->second.dtype != ib->second.dtype ||
        ia->second.shape != ib->second.shape ||
        ia->second.bytes != ib->second.bytes)
      return false;
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;
  Status status = parseSafetensors(data, size, "fuzz", tensors, &metadata);
  if (!status) {
    FUZZ_CHECK(tensors.empty() && metadata.empty());
    FUZZ_CHECK(!status.message().empty());
    return 0;
  }

  for (const auto &[name, tensor] : tensors) {
    int64_t numel = tensor.numel();
    FUZZ_CHECK(numel >= 0);
    FUZZ_CHECK(static_cast<uint64_t>(numel) * dtypeSize(tensor.dtype) ==
               tensor.bytes.size());
  }

  std::vector<uint8_t> image = serializeSafetensors(tensors, metadata);
  TensorMap again;
  std::map<std::string, std::string> metadataAgain;
  Status reread = parseSafetensors(image.data(), image.size(), "fuzz", again,
                                   &metadataAgain);
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(sameTensors(tensors, again));
  FUZZ_CHECK(metadata == metadataAgain);
  return 0;
}
