//===- Checkpoint.cpp - Crash-safe training checkpoints -------------------===//

#include "megalodon/runtime/Checkpoint.h"

#include "FileIO.h"
#include "megalodon/runtime/Safetensors.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace megalodon::rt {

namespace {

constexpr const char *kPrefix = "checkpoint-";
constexpr const char *kLatest = "latest";

Status errnoError(const std::string &what) {
  return Status::error(what + ": " + std::strerror(errno));
}

/// checkpoint-00000042: fixed width, so names sort like steps.
std::string checkpointName(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%08lld", kPrefix,
                static_cast<long long>(step));
  return name;
}

bool isCheckpointName(const std::string &name) {
  size_t prefix = std::strlen(kPrefix);
  return name.size() > prefix && name.compare(0, prefix, kPrefix) == 0 &&
         std::all_of(name.begin() + prefix, name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> listDirectory(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = ::opendir(dir.c_str())) {
    while (dirent *entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..")
        names.push_back(name);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Removes a checkpoint directory (plain files only inside).
Status removeDirectory(const std::string &dir) {
  for (const std::string &name : listDirectory(dir))
    if (std::remove((dir + "/" + name).c_str()) != 0)
      return errnoError(dir + "/" + name + ": cannot remove");
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT)
    return errnoError(dir + ": cannot remove");
  return Status::success();
}

/// Makes a rename or a new entry in `dir` durable.
Status syncDirectory(const std::string &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errnoError(dir + ": cannot open");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return errnoError(dir + ": fsync failed");
  return Status::success();
}

/// Honours MEGALODON_CHECKPOINT_KILL_AFTER (see saveCheckpoint).
void maybeDie(int filesWritten) {
  const char *limit = std::getenv("MEGALODON_CHECKPOINT_KILL_AFTER");
  if (limit && std::atoi(limit) == filesWritten)
    std::raise(SIGKILL);
}

Status writeText(const std::string &path, const std::string &text) {
  return writeFileAtomically(path, {{text.data(), text.size()}});
}

} // namespace

Status saveCheckpoint(const std::string &outDir, int64_t step,
                      const Checkpoint &checkpoint, int keep) {
  if (::mkdir(outDir.c_str(), 0755) != 0 && errno != EEXIST)
    return errnoError(outDir + ": cannot create the output directory");
  const std::string name = checkpointName(step);
  const std::string finalDir = outDir + "/" + name;
  const std::string tempDir = finalDir + ".tmp";
  // Leftovers of a save that was killed.
  if (Status s = removeDirectory(tempDir); !s.ok())
    return s;
  if (::mkdir(tempDir.c_str(), 0755) != 0)
    return errnoError(tempDir + ": cannot create");

  int written = 0;
  maybeDie(written);
  if (Status s = writeText(tempDir + "/config.json", checkpoint.configJson);
      !s.ok())
    return s;
  maybeDie(++written);
  if (Status s = writeSafetensors(tempDir + "/model.safetensors",
                                  checkpoint.model);
      !s.ok())
    return s;
  maybeDie(++written);
  if (Status s = writeSafetensors(tempDir + "/optimizer.safetensors",
                                  checkpoint.optimizer);
      !s.ok())
    return s;
  maybeDie(++written);
  if (Status s = writeText(tempDir + "/trainer.json", checkpoint.trainerJson);
      !s.ok())
    return s;
  maybeDie(++written);
  if (Status s = syncDirectory(tempDir); !s.ok())
    return s;

  // Saving the same step again (after a resume) replaces the old copy.
  if (Status s = removeDirectory(finalDir); !s.ok())
    return s;
  if (std::rename(tempDir.c_str(), finalDir.c_str()) != 0)
    return errnoError(finalDir + ": cannot rename the new checkpoint into place");
  const std::string link = outDir + "/" + kLatest;
  const std::string tempLink = link + ".tmp";
  std::remove(tempLink.c_str());
  if (::symlink(name.c_str(), tempLink.c_str()) != 0)
    return errnoError(tempLink + ": cannot create");
  if (std::rename(tempLink.c_str(), link.c_str()) != 0)
    return errnoError(link + ": cannot update");
  if (Status s = syncDirectory(outDir); !s.ok())
    return s;

  std::vector<std::string> checkpoints;
  for (const std::string &entry : listDirectory(outDir))
    if (isCheckpointName(entry))
      checkpoints.push_back(entry);
  for (size_t i = 0; i + std::max(keep, 1) < checkpoints.size(); ++i)
    if (checkpoints[i] != name)
      if (Status s = removeDirectory(outDir + "/" + checkpoints[i]); !s.ok())
        return s;
  return Status::success();
}

Status loadCheckpoint(const std::string &path, Checkpoint &out,
                      std::string *resolved) {
  std::string dir = path;
  struct stat info;
  if (::lstat((path + "/" + kLatest).c_str(), &info) == 0) {
    char target[4096];
    ssize_t n = ::readlink((path + "/" + kLatest).c_str(), target,
                           sizeof(target) - 1);
    if (n < 0)
      return errnoError(path + "/" + kLatest + ": cannot read the link");
    target[n] = '\0';
    dir = target[0] == '/' ? std::string(target) : path + "/" + target;
  }
  if (resolved)
    *resolved = dir;
  if (::stat((dir + "/trainer.json").c_str(), &info) != 0)
    return Status::error(path + ": not a checkpoint (no trainer.json in " +
                         dir + " and no 'latest' link)");
  // Config and trainer state are small JSON files; 16 MiB is generous.
  constexpr size_t kMaxJson = 16u << 20;
  if (Status s = readSmallFile(dir + "/config.json", kMaxJson, "a config",
                               out.configJson);
      !s.ok())
    return s;
  if (Status s = readSmallFile(dir + "/trainer.json", kMaxJson,
                               "a trainer state", out.trainerJson);
      !s.ok())
    return s;
  if (Status s = readSafetensors(dir + "/model.safetensors", out.model);
      !s.ok())
    return s;
  return readSafetensors(dir + "/optimizer.safetensors", out.optimizer);
}

} // namespace megalodon::rt
