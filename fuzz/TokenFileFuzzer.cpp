//===- TokenFileFuzzer.cpp - Fuzz the token file reader -------------------===//
//
// Token files feed the embedding lookup of compiled code, where a token
// outside the vocabulary is undefined behaviour; the reader and
// checkTokenRange are what stand in between. The input is parsed in both
// formats (`.bin` int32 and byte text), and every stream that is accepted
// is checked against vocabularies from 0 (never valid) to INT64_MAX: the
// range check must pass exactly when every token is inside the vocabulary.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheck.h"

#include "megalodon/runtime/TokenFile.h"

#include <cstddef>
#include <cstdint>
#include <limits>

using namespace megalodon::rt;

static void checkRanges(const TokenStream &stream) {
  const int64_t int32Max = std::numeric_limits<int32_t>::max();
  const int64_t int64Max = std::numeric_limits<int64_t>::max();
  const int64_t vocabularies[] = {0, 1, 2, 256, 32000, int32Max, int64Max};
  for (int64_t vocab : vocabularies) {
    Status status = checkTokenRange(stream.tokens, vocab, "fuzz");
    bool inRange = vocab > 0;
    for (int32_t token : stream.tokens)
      inRange = inRange && token >= 0 && token < vocab;
    FUZZ_CHECK(status.ok() == inRange);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  TokenStream binary;
  if (parseTokenFile(data, size, "fuzz.bin", binary)) {
    FUZZ_CHECK(!binary.isBytes);
    FUZZ_CHECK(binary.tokens.size() * 4 == size);
    for (int32_t token : binary.tokens)
      FUZZ_CHECK(token >= 0);
    checkRanges(binary);
  } else {
    FUZZ_CHECK(binary.tokens.empty());
  }

  TokenStream text;
  if (parseTokenFile(data, size, "fuzz.txt", text)) {
    FUZZ_CHECK(text.isBytes);
    FUZZ_CHECK(text.tokens.size() == size);
    for (int32_t token : text.tokens)
      FUZZ_CHECK(token >= 0 && token < 256);
    checkRanges(text);
  } else {
    FUZZ_CHECK(size == 0 && text.tokens.empty());
  }
  return 0;
}
