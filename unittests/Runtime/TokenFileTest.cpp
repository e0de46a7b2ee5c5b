//===- TokenFileTest.cpp - Token file reader tests ------------------------===//

#include "megalodon/runtime/TokenFile.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

using namespace megalodon::rt;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

class TokenFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "tokens_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  /// Writes `bytes` to `name` in the temp dir and returns its path.
  std::string write(const std::string &name, const std::string &bytes) {
    std::string path = (fs::path(dir) / name).string();
    FILE *file = std::fopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    if (file) {
      EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
      EXPECT_EQ(std::fclose(file), 0);
    }
    return path;
  }
  /// Little-endian int32 encoding of `tokens`.
  static std::string encode(const std::vector<int32_t> &tokens) {
    std::string bytes;
    for (int32_t token : tokens) {
      uint32_t bits = static_cast<uint32_t>(token);
      for (int i = 0; i < 4; ++i)
        bytes += static_cast<char>((bits >> (8 * i)) & 0xff);
    }
    return bytes;
  }
  /// A stream with stale contents, to check that failures clear it.
  static TokenStream stale() {
    TokenStream stream;
    stream.tokens = {1, 2, 3};
    stream.isBytes = true;
    return stream;
  }

  std::string dir;
};

TEST_F(TokenFileTest, TextFileIsBytes) {
  std::string path = write("corpus.txt", "hi\n\0\xff"s);
  TokenStream stream;
  Status status = readTokenFile(path, stream);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(stream.isBytes);
  EXPECT_EQ(stream.tokens, (std::vector<int32_t>{'h', 'i', '\n', 0, 255}));
}

TEST_F(TokenFileTest, AnySuffixButBinIsBytes) {
  for (const char *name : {"data", "data.bin.txt", "data.BIN", "bin"}) {
    SCOPED_TRACE(name);
    TokenStream stream;
    ASSERT_TRUE(readTokenFile(write(name, "abcd"), stream).ok());
    EXPECT_TRUE(stream.isBytes);
    EXPECT_EQ(stream.tokens.size(), 4u);
  }
}

TEST_F(TokenFileTest, BinFileIsInt32LittleEndian) {
  std::vector<int32_t> tokens = {0, 1, 255, 256, 31999, 2147483647};
  std::string path = write("train.bin", encode(tokens));
  TokenStream stream = stale();
  Status status = readTokenFile(path, stream);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_FALSE(stream.isBytes);
  EXPECT_EQ(stream.tokens, tokens);
}

TEST_F(TokenFileTest, BinSizeMustBeMultipleOfFour) {
  std::string path = write("train.bin", encode({1}) + "xy");
  TokenStream stream = stale();
  Status status = readTokenFile(path, stream);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(
      status.message().find(path + ": size 6 bytes is not a multiple of 4"),
      std::string::npos)
      << status.message();
  EXPECT_TRUE(stream.tokens.empty());
  EXPECT_FALSE(stream.isBytes);
}

TEST_F(TokenFileTest, NegativeTokenIsRejected) {
  std::string path = write("train.bin", encode({4, 5, -7, -1}));
  TokenStream stream = stale();
  Status status = readTokenFile(path, stream);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("token at index 2 is negative (-7)"),
            std::string::npos)
      << status.message();
  EXPECT_TRUE(stream.tokens.empty());
}

TEST_F(TokenFileTest, EmptyFileIsAnError) {
  for (const char *name : {"empty.bin", "empty.txt"}) {
    SCOPED_TRACE(name);
    TokenStream stream = stale();
    Status status = readTokenFile(write(name, ""), stream);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("token file is empty"), std::string::npos)
        << status.message();
    EXPECT_TRUE(stream.tokens.empty());
  }
}

TEST_F(TokenFileTest, MissingFileIsAnError) {
  std::string path = (fs::path(dir) / "absent.bin").string();
  TokenStream stream = stale();
  Status status = readTokenFile(path, stream);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            path + ": cannot open: No such file or directory");
  EXPECT_TRUE(stream.tokens.empty());
}

TEST_F(TokenFileTest, DirectoryIsAnError) {
  TokenStream stream;
  Status status = readTokenFile(dir, stream);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("is a directory"), std::string::npos)
      << status.message();
}

TEST(ParseTokenFileTest, InMemoryBytesFollowTheFileRules) {
  // The suffix of the name picks the format, as for files on disk.
  const uint8_t bytes[] = {7, 0, 0, 0, 255, 0, 0, 0};
  TokenStream stream;
  Status status = parseTokenFile(bytes, sizeof(bytes), "mem.bin", stream);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(stream.tokens, (std::vector<int32_t>{7, 255}));
  EXPECT_FALSE(stream.isBytes);

  status = parseTokenFile(bytes, sizeof(bytes), "mem.txt", stream);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(stream.tokens, (std::vector<int32_t>{7, 0, 0, 0, 255, 0, 0, 0}));
  EXPECT_TRUE(stream.isBytes);

  status = parseTokenFile(bytes, 3, "mem.bin", stream);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind("mem.bin: size 3 bytes", 0), 0u)
      << status.message();
  EXPECT_TRUE(stream.tokens.empty());

  status = parseTokenFile(bytes, 0, "mem.txt", stream);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "mem.txt: token file is empty");
}

TEST(TokenRangeTest, AcceptsTokensInRange) {
  EXPECT_TRUE(checkTokenRange({0, 5, 255}, 256, "x").ok());
  EXPECT_TRUE(checkTokenRange({}, 1, "x").ok());
}

TEST(TokenRangeTest, NamesFirstBadPosition) {
  Status status = checkTokenRange({0, 1, 2, 256, 300}, 256, "corpus.txt");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "corpus.txt: token at position 3 has value 256, "
                              "outside the vocabulary [0, 256)");

  status = checkTokenRange({7, -3}, 256, "train.bin");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("position 1 has value -3"), std::string::npos)
      << status.message();
}

TEST(TokenRangeTest, HandlesExtremeVocabularies) {
  EXPECT_FALSE(checkTokenRange({0}, 0, "x").ok());
  EXPECT_FALSE(checkTokenRange({0}, -5, "x").ok());
  // A vocabulary beyond int32 admits every non-negative token.
  EXPECT_TRUE(checkTokenRange({2147483647}, int64_t(1) << 40, "x").ok());
}

} // namespace
