//===- FileIO.cpp - Whole-file reads and atomic writes ----------*- C++ -*-===//

#include "FileIO.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace megalodon::rt {

Status writeFileAtomically(const std::string &path,
                           const std::vector<ByteSpan> &pieces) {
  // Writing beside the target and renaming means a reader sees either the old
  // file or the complete new one, never a partial write.
  std::string tempPath = path + ".tmp." + std::to_string(::getpid());
  FILE *file = std::fopen(tempPath.c_str(), "wb");
  if (!file)
    return Status::error(path + ": cannot create temporary file '" + tempPath +
                         "': " + std::strerror(errno));

  auto failWith = [&](const char *what, int error) {
    if (file)
      std::fclose(file);
    std::remove(tempPath.c_str());
    return Status::error(path + ": " + what + ": " + std::strerror(error));
  };
  for (const ByteSpan &piece : pieces) {
    if (piece.size &&
        std::fwrite(piece.data, 1, piece.size, file) != piece.size)
      return failWith("write failed", errno);
  }
  if (std::fflush(file) != 0)
    return failWith("write failed", errno);
  // Without fsync a crash after the rename could leave an empty file under
  // the final name.
  if (::fsync(::fileno(file)) != 0)
    return failWith("fsync failed", errno);
  int closed = std::fclose(file);
  file = nullptr;
  if (closed != 0)
    return failWith("close failed", errno);
  if (std::rename(tempPath.c_str(), path.c_str()) != 0)
    return failWith("cannot rename temporary file into place", errno);
  return Status::success();
}

Status readSmallFile(const std::string &path, size_t maxSize, const char *what,
                     std::string &out) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  Status status = Status::success();
  if (::fstat(fd, &info) != 0)
    status = Status::error(path + ": cannot stat: " + std::strerror(errno));
  else if (S_ISDIR(info.st_mode))
    status = Status::error(path + ": is a directory, not " + what);
  else if (!S_ISREG(info.st_mode))
    status = Status::error(path + ": is not a regular file");
  else if (static_cast<uint64_t>(info.st_size) > maxSize)
    status = Status::error(path + ": size " + std::to_string(info.st_size) +
                           " bytes exceeds the limit of " +
                           std::to_string(maxSize) + " bytes for " + what);
  std::string bytes;
  if (status.ok()) {
    bytes.resize(static_cast<size_t>(info.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t got = ::read(fd, &bytes[done], bytes.size() - done);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0) {
        status = Status::error(path + ": read failed: " + std::strerror(errno));
        break;
      }
      if (got == 0) {
        // The file shrank after fstat; what is left is what it holds now.
        bytes.resize(done);
        break;
      }
      done += static_cast<size_t>(got);
    }
  }
  ::close(fd);
  if (status.ok())
    out = std::move(bytes);
  return status;
}

} // namespace megalodon::rt
