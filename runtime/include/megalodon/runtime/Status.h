//===- Status.h - Error values for the runtime ------------------*- C++ -*-===//
//
// The runtime is built without exceptions and without LLVM, so fallible calls
// return a Status that carries a one-line, user-facing message.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_STATUS_H
#define MEGALODON_RUNTIME_STATUS_H

#include <string>
#include <utility>

namespace megalodon::rt {

class [[nodiscard]] Status {
public:
  static Status success() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed = true;
    s.msg = std::move(message);
    return s;
  }
  bool ok() const { return !failed; }
  explicit operator bool() const { return !failed; }
  const std::string &message() const { return msg; }

private:
  bool failed = false;
  std::string msg;
};

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_STATUS_H
