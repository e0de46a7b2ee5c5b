//===- KernelCostsTest.cpp - The kernel cost list of GPU artifacts --------===//

#include "megalodon/runtime/KernelCosts.h"

#include "gtest/gtest.h"

#include <fstream>
#include <unistd.h>

using namespace megalodon::rt;

namespace {

std::string tempPath(const char *name) {
  return ::testing::TempDir() + "kernel-costs-" + std::to_string(getpid()) +
         "-" + name;
}

Status readText(const std::string &text, KernelCosts &out) {
  std::string path = tempPath("in.tsv");
  std::ofstream(path, std::ios::binary) << text;
  return readKernelCosts(path, out);
}

TEST(KernelCostsTest, RoundTrips) {
  KernelCosts costs{{"forward_kernel", {131072, 1048576}},
                    {"forward_kernel_1", {-1, 0}}};
  std::string path = tempPath("round.tsv");
  ASSERT_TRUE(writeKernelCosts(path, costs).ok());
  KernelCosts back;
  Status status = readKernelCosts(path, back);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back["forward_kernel"].flops, 131072);
  EXPECT_EQ(back["forward_kernel"].bytes, 1048576);
  EXPECT_EQ(back["forward_kernel_1"].flops, -1);
}

TEST(KernelCostsTest, MalformedLinesAreErrorsNamingTheLine) {
  struct Case {
    const char *text;
    const char *message;
  } cases[] = {
      {"k\t1\n", ":1: expected 'name<TAB>flops<TAB>bytes'"},
      {"k\t1\t2\n\t1\t2\n", ":2: empty kernel name"},
      {"k\tmany\t2\n", ":1: flops must be an integer >= -1"},
      {"k\t-2\t2\n", ":1: flops must be an integer >= -1"},
      {"k\t1\t-5\n", ":1: bytes must be a non-negative integer"},
      {"k\t1\t2x\n", ":1: bytes must be a non-negative integer"},
      {"k\t1\t99999999999999999999\n",
       ":1: bytes must be a non-negative integer"},
      {"k\t1\t2\nk\t3\t4\n", ":2: kernel listed twice"},
  };
  for (const Case &c : cases) {
    KernelCosts out{{"stale", {}}};
    Status status = readText(c.text, out);
    ASSERT_FALSE(status.ok()) << c.text;
    EXPECT_NE(status.message().find(c.message), std::string::npos)
        << status.message();
    EXPECT_TRUE(out.empty());
  }
}

TEST(KernelCostsTest, AMissingFileIsAnError) {
  KernelCosts out;
  EXPECT_FALSE(readKernelCosts(tempPath("absent.tsv"), out).ok());
}

} // namespace
