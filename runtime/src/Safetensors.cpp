//===- Safetensors.cpp - safetensors reader and writer ----------*- C++ -*-===//
//
// The header is parsed by the strict JSON reader in JsonReader.h, then checked
// against the schema and the data section. Validation is complete before any
// tensor byte is read; the disk reader uses that to read each tensor straight
// into its own buffer instead of holding the whole file in memory twice.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/Safetensors.h"

#include "FileIO.h"
#include "JsonReader.h"
#include "JsonText.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace megalodon::rt {

namespace {

using namespace json;

//===----------------------------------------------------------------------===//
// Header validation
//===----------------------------------------------------------------------===//

/// The reference implementation's limit; larger headers are rejected before
/// any allocation.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
constexpr const char *kMetadataKey = "__metadata__";

/// A tensor's header entry after validation.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

std::string offsetsToString(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

uint64_t readLE64(const uint8_t *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}

/// Checks the 8-byte length prefix against the file size.
Status checkHeaderLength(uint64_t headerLength, uint64_t fileSize,
                         const std::string &origin) {
  if (headerLength < 2)
    return Status::error(origin + ": header length " +
                         std::to_string(headerLength) +
                         " is too small for a JSON object");
  if (headerLength > kMaxHeaderSize)
    return Status::error(
        origin + ": header length " + std::to_string(headerLength) +
        " exceeds the limit of " + std::to_string(kMaxHeaderSize) + " bytes");
  if (headerLength > fileSize - 8)
    return Status::error(origin + ": header length " +
                         std::to_string(headerLength) + " exceeds file size " +
                         std::to_string(fileSize) + " minus 8");
  return Status::success();
}

/// Validates one tensor entry; `prefix` is "origin: tensor 'name': ".
Status parseEntry(const JsonValue &value, uint64_t dataSize,
                  const std::string &prefix, Entry &entry) {
  if (value.kind != JsonValue::Kind::Object)
    return Status::error(prefix + "entry is " + kindName(value.kind) +
                         ", not an object");
  const JsonValue *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (size_t i = 0; i < value.keys.size(); ++i) {
    const std::string &key = value.keys[i];
    if (key == "dtype")
      dtype = &value.items[i];
    else if (key == "shape")
      shape = &value.items[i];
    else if (key == "data_offsets")
      offsets = &value.items[i];
    else
      return Status::error(prefix + "unexpected field '" + displayName(key) +
                           "'");
  }
  if (!dtype)
    return Status::error(prefix + "missing field 'dtype'");
  if (!shape)
    return Status::error(prefix + "missing field 'shape'");
  if (!offsets)
    return Status::error(prefix + "missing field 'data_offsets'");

  if (dtype->kind != JsonValue::Kind::String)
    return Status::error(prefix + "dtype is " + kindName(dtype->kind) +
                         ", not a string");
  if (!parseDType(dtype->string, entry.dtype))
    return Status::error(prefix + "unsupported dtype " +
                         displayName(dtype->string));

  if (shape->kind != JsonValue::Kind::Array)
    return Status::error(prefix + "shape is " + kindName(shape->kind) +
                         ", not an array");
  int64_t numel = 1;
  for (const JsonValue &dim : shape->items) {
    if (dim.kind != JsonValue::Kind::Integer)
      return Status::error(prefix + "shape holds " + kindName(dim.kind) +
                           ", not an integer");
    if (dim.integer < 0)
      return Status::error(prefix + "negative dimension " +
                           std::to_string(dim.integer) + " in shape");
    entry.shape.push_back(dim.integer);
  }
  int64_t byteCount;
  for (int64_t dim : entry.shape)
    if (__builtin_mul_overflow(numel, dim, &numel))
      return Status::error(prefix + "element count of shape " +
                           shapeToString(entry.shape) + " overflows");
  if (__builtin_mul_overflow(
          numel, static_cast<int64_t>(dtypeSize(entry.dtype)), &byteCount))
    return Status::error(prefix + "byte size of shape " +
                         shapeToString(entry.shape) + " overflows");

  if (offsets->kind != JsonValue::Kind::Array || offsets->items.size() != 2 ||
      offsets->items[0].kind != JsonValue::Kind::Integer ||
      offsets->items[1].kind != JsonValue::Kind::Integer ||
      offsets->items[0].integer < 0 || offsets->items[1].integer < 0)
    return Status::error(prefix +
                         "data_offsets must be two non-negative integers");
  entry.begin = static_cast<uint64_t>(offsets->items[0].integer);
  entry.end = static_cast<uint64_t>(offsets->items[1].integer);
  std::string range = offsetsToString(entry.begin, entry.end);
  if (entry.end < entry.begin)
    return Status::error(prefix + "data_offsets " + range +
                         " end before they begin");
  if (entry.end > dataSize)
    return Status::error(prefix + "data_offsets " + range +
                         " exceed the data section of " +
                         std::to_string(dataSize) + " bytes");
  if (entry.end - entry.begin != static_cast<uint64_t>(byteCount))
    return Status::error(prefix + "data_offsets " + range +
                         " do not match shape " + shapeToString(entry.shape) +
                         " of " + dtypeName(entry.dtype) + " (" +
                         std::to_string(byteCount) + " bytes)");
  return Status::success();
}

Status parseMetadata(const JsonValue &value, const std::string &origin,
                     std::map<std::string, std::string> &metadata) {
  if (value.kind != JsonValue::Kind::Object)
    return Status::error(origin + ": '__metadata__' is " +
                         kindName(value.kind) + ", not an object");
  for (size_t i = 0; i < value.keys.size(); ++i) {
    if (value.items[i].kind != JsonValue::Kind::String)
      return Status::error(origin + ": '__metadata__' entry '" +
                           displayName(value.keys[i]) + "' is " +
                           kindName(value.items[i].kind) + ", not a string");
    metadata[value.keys[i]] = value.items[i].string;
  }
  return Status::success();
}

/// The official format stores tensors back to back: sorted by offset, each
/// must start where the previous one ended, and the last must end at the end
/// of the data section. That rules out overlaps and holes alike.
Status checkCoverage(std::vector<Entry> &entries, uint64_t dataSize,
                     const std::string &origin) {
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    if (a.begin != b.begin)
      return a.begin < b.begin;
    if (a.end != b.end)
      return a.end < b.end;
    return a.name < b.name;
  });
  uint64_t cursor = 0;
  const Entry *previous = nullptr;
  for (const Entry &entry : entries) {
    std::string prefix =
        origin + ": tensor '" + displayName(entry.name) + "': ";
    if (entry.begin < cursor)
      return Status::error(
          prefix + "data_offsets " + offsetsToString(entry.begin, entry.end) +
          " overlap tensor '" + displayName(previous->name) + "' " +
          offsetsToString(previous->begin, previous->end));
    if (entry.begin > cursor)
      return Status::error(prefix + "hole in data section: bytes " +
                           offsetsToString(cursor, entry.begin) +
                           " before it belong to no tensor");
    cursor = entry.end;
    previous = &entry;
  }
  if (cursor != dataSize)
    return Status::error(origin + ": hole in data section: bytes " +
                         offsetsToString(cursor, dataSize) +
                         " at its end belong to no tensor");
  return Status::success();
}

/// Parses and validates the JSON header against a data section of
/// `dataSize` bytes. The entries come back sorted by offset.
Status parseHeader(const uint8_t *header, size_t headerLength,
                   uint64_t dataSize, const std::string &origin,
                   std::vector<Entry> &entries,
                   std::map<std::string, std::string> &metadata) {
  JsonValue root;
  JsonReader reader(header, headerLength);
  if (!reader.parseDocument(root))
    return Status::error(origin + ": invalid header JSON: " + reader.error());
  if (root.kind != JsonValue::Kind::Object)
    return Status::error(origin + ": header is " + kindName(root.kind) +
                         ", not a JSON object");
  for (size_t i = 0; i < root.keys.size(); ++i) {
    if (root.keys[i] == kMetadataKey) {
      if (Status s = parseMetadata(root.items[i], origin, metadata); !s)
        return s;
      continue;
    }
    Entry entry;
    entry.name = root.keys[i];
    std::string prefix =
        origin + ": tensor '" + displayName(entry.name) + "': ";
    if (Status s = parseEntry(root.items[i], dataSize, prefix, entry); !s)
      return s;
    entries.push_back(std::move(entry));
  }
  return checkCoverage(entries, dataSize, origin);
}

/// Closes a file descriptor on every path out of a function.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Reads exactly `size` bytes at `offset`, retrying short reads.
Status preadFully(int fd, uint64_t offset, uint8_t *dst, size_t size,
                  const std::string &path) {
  while (size) {
    ssize_t got = ::pread(fd, dst, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return Status::error(path + ": read failed: " + std::strerror(errno));
    if (got == 0)
      return Status::error(path + ": unexpected end of file (was it "
                                  "truncated while being read?)");
    dst += got;
    size -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

/// Builds the 8-byte length prefix plus the header JSON, padded with spaces
/// so that the data section starts at a multiple of 8 bytes. Tensors follow
/// in name order, back to back, as the format allows no holes.
std::string buildPrefix(const TensorMap &tensors,
                        const std::map<std::string, std::string> &metadata) {
  std::string json = "{";
  if (!metadata.empty()) {
    appendJsonString(json, kMetadataKey);
    json += ":{";
    for (const auto &[key, value] : metadata) {
      if (json.back() != '{')
        json += ',';
      appendJsonString(json, key);
      json += ':';
      appendJsonString(json, value);
    }
    json += '}';
  }
  uint64_t offset = 0;
  for (const auto &[name, tensor] : tensors) {
    if (json.size() > 1)
      json += ',';
    appendJsonString(json, name);
    json += ":{\"dtype\":\"";
    json += dtypeName(tensor.dtype);
    json += "\",\"shape\":[";
    for (size_t i = 0; i < tensor.shape.size(); ++i) {
      if (i)
        json += ',';
      json += std::to_string(tensor.shape[i]);
    }
    uint64_t end = offset + tensor.bytes.size();
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," +
            std::to_string(end) + "]}";
    offset = end;
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');

  std::string prefix(8, '\0');
  uint64_t length = json.size();
  for (int i = 0; i < 8; ++i)
    prefix[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return prefix + json;
}

/// The writer's preconditions, checked so that a bad map becomes an error
/// instead of a file the reader would reject.
Status checkWritable(const TensorMap &tensors, const std::string &path) {
  for (const auto &[name, tensor] : tensors) {
    std::string prefix = path + ": tensor '" + displayName(name) + "': ";
    if (name == kMetadataKey)
      return Status::error(prefix + "name is reserved for metadata");
    int64_t numel = 1;
    for (int64_t dim : tensor.shape)
      if (dim < 0 || __builtin_mul_overflow(numel, dim, &numel))
        return Status::error(prefix + "invalid shape " +
                             shapeToString(tensor.shape));
    if (static_cast<uint64_t>(numel) * dtypeSize(tensor.dtype) !=
        tensor.bytes.size())
      return Status::error(prefix + "holds " +
                           std::to_string(tensor.bytes.size()) +
                           " bytes, but shape " + shapeToString(tensor.shape) +
                           " of " + dtypeName(tensor.dtype) + " needs " +
                           std::to_string(numel * dtypeSize(tensor.dtype)));
  }
  return Status::success();
}

} // namespace

Status parseSafetensors(const uint8_t *data, size_t size,
                        const std::string &origin, TensorMap &out,
                        std::map<std::string, std::string> *metadata) {
  out.clear();
  if (metadata)
    metadata->clear();
  if (size < 8)
    return Status::error(origin + ": file of " + std::to_string(size) +
                         " bytes is too small for the 8-byte header length");
  uint64_t headerLength = readLE64(data);
  if (Status s = checkHeaderLength(headerLength, size, origin); !s)
    return s;
  const uint8_t *dataSection = data + 8 + headerLength;
  uint64_t dataSize = size - 8 - headerLength;

  std::vector<Entry> entries;
  std::map<std::string, std::string> meta;
  if (Status s =
          parseHeader(data + 8, headerLength, dataSize, origin, entries, meta);
      !s)
    return s;

  for (Entry &entry : entries) {
    HostTensor &tensor = out[entry.name];
    tensor.dtype = entry.dtype;
    tensor.shape = std::move(entry.shape);
    tensor.bytes.assign(dataSection + entry.begin, dataSection + entry.end);
  }
  if (metadata)
    *metadata = std::move(meta);
  return Status::success();
}

Status readSafetensors(const std::string &path, TensorMap &out,
                       std::map<std::string, std::string> *metadata) {
  out.clear();
  if (metadata)
    metadata->clear();
  FdGuard file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  if (::fstat(file.fd, &info) != 0)
    return Status::error(path + ": cannot stat: " + std::strerror(errno));
  if (S_ISDIR(info.st_mode))
    return Status::error(path + ": is a directory, not a safetensors file");
  if (!S_ISREG(info.st_mode))
    return Status::error(path + ": is not a regular file");
  uint64_t size = static_cast<uint64_t>(info.st_size);
  if (size < 8)
    return Status::error(path + ": file of " + std::to_string(size) +
                         " bytes is too small for the 8-byte header length");

  uint8_t lengthBytes[8];
  if (Status s = preadFully(file.fd, 0, lengthBytes, 8, path); !s)
    return s;
  uint64_t headerLength = readLE64(lengthBytes);
  if (Status s = checkHeaderLength(headerLength, size, path); !s)
    return s;
  std::vector<uint8_t> header(headerLength);
  if (Status s = preadFully(file.fd, 8, header.data(), header.size(), path); !s)
    return s;

  std::vector<Entry> entries;
  std::map<std::string, std::string> meta;
  uint64_t dataStart = 8 + headerLength;
  if (Status s = parseHeader(header.data(), header.size(), size - dataStart,
                             path, entries, meta);
      !s)
    return s;

  TensorMap tensors;
  for (Entry &entry : entries) {
    HostTensor &tensor = tensors[entry.name];
    tensor.dtype = entry.dtype;
    tensor.shape = std::move(entry.shape);
    tensor.bytes.resize(entry.end - entry.begin);
    if (Status s = preadFully(file.fd, dataStart + entry.begin,
                              tensor.bytes.data(), tensor.bytes.size(), path);
        !s)
      return s;
  }
  out = std::move(tensors);
  if (metadata)
    *metadata = std::move(meta);
  return Status::success();
}

std::vector<uint8_t>
serializeSafetensors(const TensorMap &tensors,
                     const std::map<std::string, std::string> &metadata) {
  std::string prefix = buildPrefix(tensors, metadata);
  std::vector<uint8_t> image(prefix.begin(), prefix.end());
  for (const auto &entry : tensors)
    image.insert(image.end(), entry.second.bytes.begin(),
                 entry.second.bytes.end());
  return image;
}

Status writeSafetensors(const std::string &path, const TensorMap &tensors,
                        const std::map<std::string, std::string> &metadata) {
  if (Status s = checkWritable(tensors, path); !s)
    return s;
  std::string prefix = buildPrefix(tensors, metadata);
  std::vector<ByteSpan> pieces = {{prefix.data(), prefix.size()}};
  for (const auto &entry : tensors)
    pieces.push_back({entry.second.bytes.data(), entry.second.bytes.size()});
  return writeFileAtomically(path, pieces);
}

} // namespace megalodon::rt
