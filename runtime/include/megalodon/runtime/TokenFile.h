//===- TokenFile.h - Token streams from disk --------------------*- C++ -*-===//
//
// Two formats: `.bin` holds raw little-endian int32 tokens; any other file
// (`.txt` and the like) is read as bytes, one token per byte (vocabulary 256).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_TOKENFILE_H
#define MEGALODON_RUNTIME_TOKENFILE_H

#include "megalodon/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace megalodon::rt {

struct TokenStream {
  std::vector<int32_t> tokens;
  /// True when the file was read as bytes (tokens in [0, 256)).
  bool isBytes = false;
};

/// Reads a token file. A `.bin` file whose size is not a multiple of 4, or
/// that holds a negative token, is an error; so is an empty or missing file.
Status readTokenFile(const std::string &path, TokenStream &out);

/// Parses the `size` bytes of a token file held in memory with the rules of
/// readTokenFile. `path` chooses the format (by its `.bin` suffix) and starts
/// every message. On failure `out` is left empty.
Status parseTokenFile(const uint8_t *data, size_t size, const std::string &path,
                      TokenStream &out);

/// Checks every token is in [0, vocabSize); names the first bad position.
Status checkTokenRange(const std::vector<int32_t> &tokens, int64_t vocabSize,
                       const std::string &origin);

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_TOKENFILE_H
