//===- Safetensors.h - safetensors reader and writer ------------*- C++ -*-===//
//
// The file format: an 8-byte little-endian header length n, n bytes of JSON
// mapping tensor names to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the byte after the header) plus an optional
// "__metadata__" object of strings, then the data.
//
// The reader treats its input as hostile: every length, offset, shape and
// dtype is checked before any byte of data is touched, and every failure is a
// one-line message naming the file and the tensor.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_SAFETENSORS_H
#define MEGALODON_RUNTIME_SAFETENSORS_H

#include "megalodon/runtime/HostTensor.h"
#include "megalodon/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace megalodon::rt {

/// Parses a complete safetensors image held in memory. `origin` names the
/// source in error messages. On failure `out` is left empty.
Status parseSafetensors(const uint8_t *data, size_t size,
                        const std::string &origin, TensorMap &out,
                        std::map<std::string, std::string> *metadata = nullptr);

/// Reads a safetensors file from disk.
Status readSafetensors(const std::string &path, TensorMap &out,
                       std::map<std::string, std::string> *metadata = nullptr);

/// Serializes tensors (sorted by name, 8-byte aligned data) to bytes.
std::vector<uint8_t>
serializeSafetensors(const TensorMap &tensors,
                     const std::map<std::string, std::string> &metadata = {});

/// Writes a safetensors file atomically: a temporary file in the same
/// directory, flushed, then renamed over `path`.
Status writeSafetensors(const std::string &path, const TensorMap &tensors,
                        const std::map<std::string, std::string> &metadata = {});

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_SAFETENSORS_H
