//===- KernelCosts.cpp - FLOPs and bytes of each kernel launch ------------===//

#include "megalodon/runtime/KernelCosts.h"

#include "FileIO.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

using namespace megalodon::rt;

namespace {

/// A whole decimal field, or false.
bool parseInteger(const std::string &text, long long &out) {
  if (text.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  out = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end == text.c_str() + text.size();
}

} // namespace

Status megalodon::rt::writeKernelCosts(const std::string &path,
                                       const KernelCosts &costs) {
  std::string text;
  for (const auto &[name, cost] : costs)
    text += name + "\t" + std::to_string(cost.flops) + "\t" +
            std::to_string(cost.bytes) + "\n";
  return writeFileAtomically(path, {{text.data(), text.size()}});
}

Status megalodon::rt::readKernelCosts(const std::string &path,
                                      KernelCosts &out) {
  out.clear();
  // A name, two numbers and separators; a million kernels at most.
  constexpr size_t kMaxSize = size_t(64) << 20;
  std::string text;
  if (Status s = readSmallFile(path, kMaxSize, "a kernel cost list", text); !s)
    return s;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    auto fail = [&](const char *why) {
      out.clear();
      return Status::error(path + ":" + std::to_string(number) + ": " + why);
    };
    size_t first = line.find('\t');
    size_t second =
        first == std::string::npos ? first : line.find('\t', first + 1);
    if (second == std::string::npos)
      return fail("expected 'name<TAB>flops<TAB>bytes'");
    std::string name = line.substr(0, first);
    KernelCost cost;
    if (name.empty())
      return fail("empty kernel name");
    if (!parseInteger(line.substr(first + 1, second - first - 1), cost.flops) ||
        cost.flops < -1)
      return fail("flops must be an integer >= -1");
    if (!parseInteger(line.substr(second + 1), cost.bytes) || cost.bytes < 0)
      return fail("bytes must be a non-negative integer");
    if (!out.emplace(name, cost).second)
      return fail("kernel listed twice");
  }
  return Status::success();
}
