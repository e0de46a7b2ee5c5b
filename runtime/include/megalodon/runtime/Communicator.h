//===- Communicator.h - Processes that train one model together -*- C++ -*-===//
//
// The collectives and point-to-point messages multi-process training needs:
// a sum of gradients over all processes, the carried sequence state between
// neighbouring processes of chunk parallelism, and gathers for checks that
// every process agrees. MPI carries them when the build found it; a single
// process needs none of it.
//
// Every wait is bounded: a peer that died or hangs makes the waiting process
// report which operation timed out and abort the whole job, so that no
// process waits forever.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_COMMUNICATOR_H
#define MEGALODON_RUNTIME_COMMUNICATOR_H

#include "megalodon/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace megalodon::rt {

/// What a process sent, for benchmarks: payload bytes, not wire bytes (an
/// all-reduce's algorithm decides how often each byte travels).
struct CommStats {
  int64_t allReduceBytes = 0;
  int64_t pointToPointBytes = 0;
  /// Seconds spent inside communication calls, waiting included.
  double seconds = 0.0;
};

class Communicator {
public:
  virtual ~Communicator();

  virtual int rank() const = 0;
  virtual int size() const = 0;

  /// Replaces `data` by its elementwise sum over all processes. Every
  /// process receives the same bits: the reduction order is fixed by the
  /// world size and the message size, not by timing.
  virtual Status allReduceSum(float *data, size_t count,
                              const char *what) = 0;
  /// Gathers `bytes` bytes from every process into `out` (size() * bytes,
  /// in rank order).
  virtual Status allGather(const void *data, size_t bytes, void *out,
                           const char *what) = 0;
  /// Starts sending `bytes` bytes to `peer` and returns; `data` must stay
  /// valid and unchanged until waitForSends(). Messages between two
  /// processes arrive in the order they were sent.
  virtual Status sendAsync(int peer, const void *data, size_t bytes,
                           const char *what) = 0;
  /// Returns when every started send has completed.
  virtual Status waitForSends() = 0;
  virtual Status receive(int peer, void *data, size_t bytes,
                         const char *what) = 0;
  /// Returns when every process has called it.
  virtual Status barrier(const char *what) = 0;
  /// Ends every process of the job with `message` (on this process's
  /// stderr); does not return.
  [[noreturn]] virtual void abort(const std::string &message) = 0;

  const CommStats &stats() const { return counters; }

protected:
  CommStats counters;
};

/// A job of one process: collectives are identities, messages an error.
std::unique_ptr<Communicator> createSingleProcessCommunicator();

/// True when the build includes MPI.
bool haveMpi();

/// True when this process was started by an MPI launcher (mpirun).
bool launchedByMpi();

/// Initializes MPI (once per process) and returns the world communicator;
/// every wait gives up after `timeoutSeconds` and aborts the job. An error
/// when the build has no MPI.
Status createMpiCommunicator(int *argc, char ***argv, double timeoutSeconds,
                             std::unique_ptr<Communicator> &out);

/// Finalizes MPI if createMpiCommunicator initialized it.
void finalizeMpi();

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_COMMUNICATOR_H
