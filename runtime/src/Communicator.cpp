//===- Communicator.cpp - The single-process communicator -----------------===//

#include "megalodon/runtime/Communicator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace megalodon::rt {

Communicator::~Communicator() = default;

namespace {

class SingleProcessCommunicator final : public Communicator {
public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  Status allReduceSum(float *, size_t, const char *) override {
    return Status::success();
  }
  Status allGather(const void *data, size_t bytes, void *out,
                   const char *) override {
    std::memcpy(out, data, bytes);
    return Status::success();
  }
  Status sendAsync(int, const void *, size_t, const char *what) override {
    return Status::error(std::string("a single process has no peer to send ") +
                         what + " to");
  }
  Status waitForSends() override { return Status::success(); }
  Status receive(int, void *, size_t, const char *what) override {
    return Status::error(
        std::string("a single process has no peer to receive ") + what +
        " from");
  }
  Status barrier(const char *) override { return Status::success(); }
  [[noreturn]] void abort(const std::string &message) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::exit(1);
  }
};

} // namespace

std::unique_ptr<Communicator> createSingleProcessCommunicator() {
  return std::make_unique<SingleProcessCommunicator>();
}

bool launchedByMpi() {
  // Open MPI, MPICH/Hydra and PMIx-based launchers.
  for (const char *name :
       {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name))
      return true;
  return false;
}

#ifndef MEGALODON_HAVE_MPI
bool haveMpi() { return false; }

Status createMpiCommunicator(int *, char ***, double,
                             std::unique_ptr<Communicator> &) {
  return Status::error("this build of megalodon has no MPI (install "
                       "libopenmpi-dev and reconfigure to train with "
                       "several processes)");
}

void finalizeMpi() {}
#endif

} // namespace megalodon::rt
