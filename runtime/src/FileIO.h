//===- FileIO.h - Whole-file reads and atomic writes ------------*- C++ -*-===//
//
// File helpers private to the runtime. Every message starts with the path.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_FILEIO_H
#define MEGALODON_RUNTIME_FILEIO_H

#include "megalodon/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace megalodon::rt {

/// A borrowed range of bytes to write.
struct ByteSpan {
  const void *data;
  size_t size;
};

/// Writes the concatenation of `pieces` to `path` atomically: a temporary file
/// in the same directory, flushed and synced, then renamed over `path`. On
/// failure the temporary file is removed and `path` is left as it was.
Status writeFileAtomically(const std::string &path,
                           const std::vector<ByteSpan> &pieces);

/// Reads a whole regular file of at most `maxSize` bytes (SIZE_MAX: no
/// limit); larger files are rejected before anything is allocated. `what`
/// names the kind of file in messages ("a manifest").
Status readSmallFile(const std::string &path, size_t maxSize, const char *what,
                     std::string &out);

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_FILEIO_H
