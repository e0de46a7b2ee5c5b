//===- TokenFile.cpp - Token streams from disk ------------------*- C++ -*-===//
//
// Token files are small next to checkpoints, so they are read whole.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/TokenFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace megalodon::rt {

namespace {

bool endsWith(const std::string &text, const char *suffix) {
  size_t length = std::strlen(suffix);
  return text.size() >= length &&
         text.compare(text.size() - length, length, suffix) == 0;
}

/// Reads a whole regular file into `bytes`.
Status readWholeFile(const std::string &path, std::vector<uint8_t> &bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  Status status = Status::success();
  if (::fstat(fd, &info) != 0)
    status = Status::error(path + ": cannot stat: " + std::strerror(errno));
  else if (S_ISDIR(info.st_mode))
    status = Status::error(path + ": is a directory, not a token file");
  else if (!S_ISREG(info.st_mode))
    status = Status::error(path + ": is not a regular file");
  if (status.ok()) {
    bytes.resize(static_cast<size_t>(info.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0) {
        status = Status::error(path + ": read failed: " + std::strerror(errno));
        break;
      }
      if (got == 0) {
        // The file shrank after fstat; keep what was there.
        bytes.resize(done);
        break;
      }
      done += static_cast<size_t>(got);
    }
  }
  ::close(fd);
  return status;
}

} // namespace

Status readTokenFile(const std::string &path, TokenStream &out) {
  out = TokenStream();
  std::vector<uint8_t> bytes;
  if (Status s = readWholeFile(path, bytes); !s)
    return s;
  return parseTokenFile(bytes.data(), bytes.size(), path, out);
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
