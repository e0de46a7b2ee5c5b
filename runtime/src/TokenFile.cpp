//===- TokenFile.cpp - Token streams from disk ------------------*- C++ -*-===//
//
// Token files are small next to checkpoints, so they are read whole.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/TokenFile.h"

#include "FileIO.h"

#include <cerrno>
#include <cstring>
#include <cstdint>

namespace megalodon::rt {

namespace {

bool endsWith(const std::string &text, const char *suffix) {
  size_t length = std::strlen(suffix);
  return text.size() >= length &&
         text.compare(text.size() - length, length, suffix) == 0;
}

} // namespace

Status readTokenFile(const std::string &path, TokenStream &out) {
  out = TokenStream();
  // Token files have no size limit: they are data, read whole.
  std::string bytes;
  if (Status s = readSmallFile(path, SIZE_MAX, "a token file", bytes); !s)
    return s;
  return parseTokenFile(reinterpret_cast<const uint8_t *>(bytes.data()),
                        bytes.size(), path, out);
}

Status parseTokenFile(const uint8_t *data, size_t size, const std::string &path,
                      TokenStream &out) {
  out = TokenStream();
  if (size == 0)
    return Status::error(path + ": token file is empty");

  TokenStream stream;
  if (!endsWith(path, ".bin")) {
    stream.isBytes = true;
    stream.tokens.assign(data, data + size);
    out = std::move(stream);
    return Status::success();
  }

  if (size % 4 != 0)
    return Status::error(path + ": size " + std::to_string(size) +
                         " bytes is not a multiple of 4 (int32 tokens)");
  stream.tokens.resize(size / 4);
  for (size_t i = 0; i < stream.tokens.size(); ++i) {
    // Assemble explicitly so the file is little-endian on any host.
    const uint8_t *p = data + 4 * i;
    uint32_t bits = uint32_t(p[0]) | uint32_t(p[1]) << 8 |
                    uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    int32_t token = static_cast<int32_t>(bits);
    if (token < 0)
      return Status::error(path + ": token at index " + std::to_string(i) +
                           " is negative (" + std::to_string(token) + ")");
    stream.tokens[i] = token;
  }
  out = std::move(stream);
  return Status::success();
}

Status checkTokenRange(const std::vector<int32_t> &tokens, int64_t vocabSize,
                       const std::string &origin) {
  if (vocabSize <= 0)
    return Status::error(origin + ": vocabulary size " +
                         std::to_string(vocabSize) + " is not positive");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocabSize)
      return Status::error(origin + ": token at position " + std::to_string(i) +
                           " has value " + std::to_string(tokens[i]) +
                           ", outside the vocabulary [0, " +
                           std::to_string(vocabSize) + ")");
  }
  return Status::success();
}

} // namespace megalodon::rt
