//===- Checkpoint.h - Crash-safe training checkpoints -----------*- C++ -*-===//
//
// A checkpoint is a directory `checkpoint-<step>` inside a training output
// directory, holding config.json, model.safetensors (the parameters),
// optimizer.safetensors (the AdamW moments) and trainer.json (step, data
// position, settings). It is written under a temporary name, synced and
// renamed into place, and then the symbolic link `latest` is replaced
// atomically: a kill at any moment leaves `latest` pointing at a complete
// checkpoint (the previous one until the new one is whole).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_CHECKPOINT_H
#define MEGALODON_RUNTIME_CHECKPOINT_H

#include "megalodon/runtime/HostTensor.h"
#include "megalodon/runtime/Status.h"

#include <cstdint>
#include <string>

namespace megalodon::rt {

struct Checkpoint {
  std::string configJson;
  TensorMap model;
  TensorMap optimizer;
  /// Opaque to this module: what the trainer needs to continue.
  std::string trainerJson;
};

/// Writes `outDir`/checkpoint-<step> (creating `outDir` if needed), points
/// `outDir`/latest at it, and then removes all but the newest `keep`
/// checkpoints. Setting MEGALODON_CHECKPOINT_KILL_AFTER=n in the environment
/// makes the process kill itself with SIGKILL after writing n files of the
/// new checkpoint: the crash-safety tests use it to stop a save midway.
Status saveCheckpoint(const std::string &outDir, int64_t step,
                      const Checkpoint &checkpoint, int keep = 2);

/// Reads a checkpoint from `path`: a checkpoint directory, or an output
/// directory whose `latest` link names one. `resolved` receives the
/// checkpoint directory that was read.
Status loadCheckpoint(const std::string &path, Checkpoint &out,
                      std::string *resolved = nullptr);

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_CHECKPOINT_H
