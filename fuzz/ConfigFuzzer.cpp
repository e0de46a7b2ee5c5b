//===- ConfigFuzzer.cpp - Fuzz the model config reader --------------------===//
//
// Configs come from files and from the metadata of saved decoding states.
// parseModelConfig must turn any text into either a validated config or an
// error naming the problem. An accepted config must also have a canonical
// JSON form that reads back as the same config: loading a decoding state
// compares configs through that form.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheck.h"

#include "megalodon/Model/Config.h"

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace megalodon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<ModelConfig> config = parseModelConfig(text);
  if (!config) {
    FUZZ_CHECK(!llvm::toString(config.takeError()).empty());
    return 0;
  }

  llvm::Error valid = validateModelConfig(*config);
  FUZZ_CHECK(!valid);
  std::string canonical = modelConfigToJson(*config);
  llvm::Expected<ModelConfig> again = parseModelConfig(canonical);
  if (!again) {
    std::fprintf(stderr, "%s\n", llvm::toString(again.takeError()).c_str());
    FUZZ_CHECK(false && "the canonical form of a config does not parse");
  }
  FUZZ_CHECK(modelConfigToJson(*again) == canonical);
  return 0;
}
