//===- MpiCommunicator.cpp - Multi-process training over MPI --------------===//
//
// Every operation is started non-blocking and then polled against a
// deadline, so that a peer that died or stopped cannot make this process
// wait forever: after the timeout it names the operation it was waiting for
// and aborts the job (MPI_Abort ends every process of it). The launcher also
// ends the job when a process exits abnormally; the timeout covers the peers
// it cannot see, such as a stopped or deadlocked one.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/Communicator.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace megalodon::rt {

namespace {

using Clock = std::chrono::steady_clock;

bool initializedHere = false;

/// Message tags: one per kind of point-to-point message is enough, since
/// neighbours exchange them in a fixed order.
constexpr int kTag = 7;

class MpiCommunicator final : public Communicator {
public:
  explicit MpiCommunicator(double timeoutSeconds) : timeout(timeoutSeconds) {
    MPI_Comm_rank(MPI_COMM_WORLD, &myRank);
    MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
  }

  int rank() const override { return myRank; }
  int size() const override { return worldSize; }

  Status allReduceSum(float *data, size_t count, const char *what) override {
    counters.allReduceBytes += static_cast<int64_t>(count * sizeof(float));
    MPI_Request request;
    // Chunks below INT_MAX elements: MPI counts are ints.
    constexpr size_t kMaxCount = size_t(1) << 30;
    for (size_t done = 0; done < count; done += kMaxCount) {
      int n = static_cast<int>(std::min(kMaxCount, count - done));
      int rc = MPI_Iallreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM,
                              MPI_COMM_WORLD, &request);
      if (Status s = wait(rc, request, "all-reduce of", what); !s.ok())
        return s;
    }
    return Status::success();
  }

  Status allGather(const void *data, size_t bytes, void *out,
                   const char *what) override {
    MPI_Request request;
    int rc = MPI_Iallgather(data, static_cast<int>(bytes), MPI_BYTE, out,
                            static_cast<int>(bytes), MPI_BYTE, MPI_COMM_WORLD,
                            &request);
    return wait(rc, request, "all-gather of", what);
  }

  Status sendAsync(int peer, const void *data, size_t bytes,
                   const char *what) override {
    counters.pointToPointBytes += static_cast<int64_t>(bytes);
    Pending send{MPI_REQUEST_NULL, what, peer};
    if (MPI_Isend(data, static_cast<int>(bytes), MPI_BYTE, peer, kTag,
                  MPI_COMM_WORLD, &send.request) != MPI_SUCCESS)
      return Status::error(describe("sending", what, peer) +
                           " failed to start");
    pending.push_back(send);
    return Status::success();
  }

  Status waitForSends() override {
    for (Pending &send : pending)
      if (Status s = wait(MPI_SUCCESS, send.request, "sending", send.what,
                          send.peer);
          !s.ok())
        return s;
    pending.clear();
    return Status::success();
  }

  Status receive(int peer, void *data, size_t bytes,
                 const char *what) override {
    MPI_Request request;
    int rc = MPI_Irecv(data, static_cast<int>(bytes), MPI_BYTE, peer, kTag,
                       MPI_COMM_WORLD, &request);
    if (Status s = wait(rc, request, "receiving", what, peer); !s.ok())
      return s;
    return Status::success();
  }

  Status barrier(const char *what) override {
    MPI_Request request;
    int rc = MPI_Ibarrier(MPI_COMM_WORLD, &request);
    return wait(rc, request, "barrier:", what);
  }

  [[noreturn]] void abort(const std::string &message) override {
    std::fprintf(stderr, "rank %d: %s\n", myRank, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort(); // MPI_Abort does not return; this keeps [[noreturn]] true
  }

private:
  /// Polls `request` until it completes or the timeout passes; a timeout
  /// aborts the job. Spins briefly, then sleeps between polls so that a
  /// waiting process leaves its core to the others.
  Status wait(int startRc, MPI_Request &request, const char *verb,
              const char *what, int peer = -1) {
    if (startRc != MPI_SUCCESS)
      return Status::error(describe(verb, what, peer) + " failed to start");
    Clock::time_point start = Clock::now();
    Clock::time_point deadline =
        start + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(timeout));
    for (int polls = 0;; ++polls) {
      int done = 0;
      if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return Status::error(describe(verb, what, peer) + " failed");
      if (done)
        break;
      Clock::time_point now = Clock::now();
      if (now > deadline) {
        char seconds[32];
        std::snprintf(seconds, sizeof(seconds), "%.0f", timeout);
        abort(describe(verb, what, peer) + " timed out after " + seconds +
              " s (a process of the job died, stopped or is much slower; "
              "see --comm-timeout); aborting the job");
      }
      if (polls > 1000)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    counters.seconds +=
        std::chrono::duration<double>(Clock::now() - start).count();
    return Status::success();
  }

  static std::string describe(const char *verb, const char *what, int peer) {
    std::string text = std::string(verb) + " " + what;
    if (peer >= 0)
      text += std::string(" (peer rank ") + std::to_string(peer) + ")";
    return text;
  }

  /// Sends started and not yet waited for.
  struct Pending {
    MPI_Request request;
    const char *what;
    int peer;
  };
  std::vector<Pending> pending;
  double timeout;
  int myRank = 0, worldSize = 1;
};

} // namespace

bool haveMpi() { return true; }

Status createMpiCommunicator(int *argc, char ***argv, double timeoutSeconds,
                             std::unique_ptr<Communicator> &out) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
      return Status::error("MPI_Init failed");
    initializedHere = true;
  }
  out = std::make_unique<MpiCommunicator>(timeoutSeconds);
  return Status::success();
}

void finalizeMpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (initializedHere && !finalized)
    MPI_Finalize();
}

} // namespace megalodon::rt
