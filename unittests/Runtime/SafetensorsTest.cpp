//===- SafetensorsTest.cpp - safetensors reader and writer tests ----------===//
//
// Round trips through memory and disk, bf16 rounding, a table of malformed
// images that must each fail with a specific message, and a mutation sweep
// that must never crash (run it under ASan/UBSan).
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unistd.h>

using namespace megalodon::rt;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

/// An image with the given header length field, header text and data.
std::vector<uint8_t> rawImage(uint64_t headerLength, const std::string &header,
                              const std::string &data = "") {
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<uint8_t>(headerLength >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

/// An image whose length field matches the header.
std::vector<uint8_t> image(const std::string &header,
                           const std::string &data = "") {
  return rawImage(header.size(), header, data);
}

Status parse(const std::vector<uint8_t> &bytes, TensorMap &out,
             std::map<std::string, std::string> *metadata = nullptr) {
  return parseSafetensors(bytes.data(), bytes.size(), "model.safetensors", out,
                          metadata);
}

HostTensor makeTensor(DType dtype, std::vector<int64_t> shape) {
  HostTensor tensor = HostTensor::zeros(dtype, std::move(shape));
  // Distinct byte values catch any mix-up of offsets between tensors.
  for (size_t i = 0; i < tensor.bytes.size(); ++i)
    tensor.bytes[i] = static_cast<uint8_t>(i * 7 + 3);
  return tensor;
}

/// One tensor of every dtype, a 0-d tensor and an empty one; sizes are chosen
/// so that some tensors end off an 8-byte boundary.
TensorMap sampleTensors() {
  TensorMap tensors;
  tensors["embed.weight"] = HostTensor::fromF32({2, 3}, {1, -2, 3.5f, 0, 5, 6});
  tensors["layers.0.mega.wv.weight"] = makeTensor(DType::BF16, {3});
  tensors["layers.0.mega.cema.alpha"] =
      HostTensor::fromF64({2, 1, 1}, {0.25, -1e300});
  tensors["tokens"] = makeTensor(DType::I32, {5});
  tensors["layers.0.mega.timenorm.prior_count"] =
      HostTensor::fromI64({}, {-42});
  tensors["empty"] = HostTensor::zeros(DType::F32, {0, 5});
  return tensors;
}

void expectSameTensors(const TensorMap &expected, const TensorMap &actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto &[name, tensor] : expected) {
    SCOPED_TRACE(name);
    auto it = actual.find(name);
    ASSERT_NE(it, actual.end());
    EXPECT_EQ(tensor.dtype, it->second.dtype);
    EXPECT_EQ(tensor.shape, it->second.shape);
    EXPECT_EQ(tensor.bytes, it->second.bytes);
  }
}

/// A fresh directory under the test temp dir, removed afterwards.
class SafetensorsFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "safetensors_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string &name) const {
    return (fs::path(dir) / name).string();
  }
  std::vector<std::string> listDir() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(dir, ec))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::vector<uint8_t> fileBytes(const std::string &path) {
    std::vector<uint8_t> bytes;
    FILE *file = std::fopen(path.c_str(), "rb");
    if (!file)
      return bytes;
    int c;
    while ((c = std::fgetc(file)) != EOF)
      bytes.push_back(static_cast<uint8_t>(c));
    std::fclose(file);
    return bytes;
  }
  static void writeBytes(const std::string &path,
                         const std::vector<uint8_t> &bytes) {
    FILE *file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    if (!bytes.empty()) {
      ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
    }
    ASSERT_EQ(std::fclose(file), 0);
  }

  std::string dir;
};

//===----------------------------------------------------------------------===//
// DType and bf16 helpers
//===----------------------------------------------------------------------===//

TEST(HostTensorTest, DTypeNamesRoundTrip) {
  for (DType dtype :
       {DType::F32, DType::BF16, DType::F64, DType::I32, DType::I64}) {
    DType parsed;
    ASSERT_TRUE(parseDType(dtypeName(dtype), parsed));
    EXPECT_EQ(parsed, dtype);
  }
  DType parsed;
  EXPECT_FALSE(parseDType("F16", parsed));
  EXPECT_FALSE(parseDType("f32", parsed));
  EXPECT_FALSE(parseDType("", parsed));
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
}

uint16_t bf16Of(uint32_t floatBits) {
  float value;
  std::memcpy(&value, &floatBits, sizeof(value));
  return floatToBF16(value);
}

TEST(HostTensorTest, BF16RoundsToNearestEven) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBF16(-2.0f), 0xc000);
  EXPECT_EQ(floatToBF16(0.0f), 0x0000);
  EXPECT_EQ(floatToBF16(-0.0f), 0x8000);
  // Exactly halfway: ties go to the even neighbour.
  EXPECT_EQ(bf16Of(0x3f808000), 0x3f80); // 1 + 2^-8 -> 1.0 (even)
  EXPECT_EQ(bf16Of(0x3f818000), 0x3f82); // odd below -> round up to even
  // Just off halfway rounds to the nearer neighbour.
  EXPECT_EQ(bf16Of(0x3f808001), 0x3f81);
  EXPECT_EQ(bf16Of(0x3f807fff), 0x3f80);
  EXPECT_EQ(bf16Of(0xbf808001), 0xbf81);
  // The largest float rounds up into infinity; infinity stays infinite.
  EXPECT_EQ(bf16Of(0x7f7fffff), 0x7f80);
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(floatToBF16(-std::numeric_limits<float>::infinity()), 0xff80);
  // Subnormals round like everything else.
  EXPECT_EQ(bf16Of(0x00008000), 0x0000);
  EXPECT_EQ(bf16Of(0x00018000), 0x0002);
}

TEST(HostTensorTest, BF16KeepsNaN) {
  // Payloads only in the low bits would round to infinity if rounded blindly.
  for (uint32_t bits :
       {0x7fc00000u, 0x7f800001u, 0x7fffffffu, 0xff800001u, 0x7f80ffffu}) {
    SCOPED_TRACE(bits);
    uint16_t half = bf16Of(bits);
    EXPECT_TRUE(std::isnan(bf16ToFloat(half)));
    EXPECT_EQ(half & 0x8000, (bits >> 16) & 0x8000); // sign kept
  }
}

TEST(HostTensorTest, BF16ToFloatIsExact) {
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
  for (uint32_t bits = 0; bits < 0x10000; bits += 97) {
    float value = bf16ToFloat(static_cast<uint16_t>(bits));
    if (!std::isnan(value)) {
      EXPECT_EQ(floatToBF16(value), bits);
    }
  }
}

TEST(HostTensorTest, ToF64HandlesEveryDType) {
  EXPECT_EQ(HostTensor::fromF32({2}, {1.5f, -2}).toF64(),
            (std::vector<double>{1.5, -2}));
  EXPECT_EQ(HostTensor::fromF64({1}, {1e300}).toF64(),
            (std::vector<double>{1e300}));
  EXPECT_EQ(HostTensor::fromI64({2}, {-5, int64_t(1) << 52}).toF64(),
            (std::vector<double>{-5, double(int64_t(1) << 52)}));

  HostTensor bf16 = HostTensor::zeros(DType::BF16, {2});
  uint16_t halves[2] = {0x3f80, 0xc040};
  std::memcpy(bf16.bytes.data(), halves, sizeof(halves));
  EXPECT_EQ(bf16.toF64(), (std::vector<double>{1.0, -3.0}));

  HostTensor i32 = HostTensor::zeros(DType::I32, {3});
  int32_t ints[3] = {7, -1, std::numeric_limits<int32_t>::min()};
  std::memcpy(i32.bytes.data(), ints, sizeof(ints));
  EXPECT_EQ(i32.toF64(), (std::vector<double>{7, -1, -2147483648.0}));
}

TEST(HostTensorTest, ShapesAndZeros) {
  EXPECT_EQ(shapeToString({}), "[]");
  EXPECT_EQ(shapeToString({2, 32}), "[2, 32]");
  HostTensor scalar = HostTensor::zeros(DType::I64, {});
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.bytes.size(), 8u);
  HostTensor empty = HostTensor::zeros(DType::F32, {3, 0});
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_TRUE(empty.bytes.empty());
}

//===----------------------------------------------------------------------===//
// In-memory round trips and well-formed inputs
//===----------------------------------------------------------------------===//

TEST(SafetensorsTest, RoundTripEveryDType) {
  TensorMap tensors = sampleTensors();
  std::vector<uint8_t> bytes = serializeSafetensors(tensors);
  TensorMap parsed;
  std::map<std::string, std::string> metadata = {{"stale", "x"}};
  ASSERT_TRUE(parse(bytes, parsed, &metadata).ok());
  expectSameTensors(tensors, parsed);
  EXPECT_TRUE(metadata.empty());
  EXPECT_EQ(parsed["layers.0.mega.timenorm.prior_count"].toF64(),
            (std::vector<double>{-42}));
  EXPECT_EQ(parsed["embed.weight"].f32()[2], 3.5f);
}

TEST(SafetensorsTest, LayoutIsSortedPaddedAndAligned) {
  std::vector<uint8_t> bytes = serializeSafetensors(sampleTensors());
  uint64_t headerLength = 0;
  std::memcpy(&headerLength, bytes.data(), 8);
  EXPECT_EQ((8 + headerLength) % 8, 0u);
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + headerLength);
  EXPECT_EQ(header.front(), '{');
  size_t close = header.find_last_of('}');
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);
  EXPECT_LT(header.size() - close - 1, 8u);
  // Names appear in sorted order and data follows in the same order.
  size_t last = 0;
  for (const char *name :
       {"\"embed.weight\"", "\"empty\"", "\"layers.0.mega.cema.alpha\"",
        "\"layers.0.mega.timenorm.prior_count\"", "\"layers.0.mega.wv.weight\"",
        "\"tokens\""}) {
    size_t at = header.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GT(at, last) << name;
    last = at;
  }
  EXPECT_NE(header.find("\"embed.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                        "\"data_offsets\":[0,24]}"),
            std::string::npos);
  EXPECT_NE(header.find("\"layers.0.mega.timenorm.prior_count\":{\"dtype\":"
                        "\"I64\",\"shape\":[],"),
            std::string::npos);
}

TEST(SafetensorsTest, EmptyMapRoundTrips) {
  std::vector<uint8_t> bytes = serializeSafetensors({});
  EXPECT_EQ(bytes.size(), 16u);
  TensorMap parsed;
  ASSERT_TRUE(parse(bytes, parsed).ok());
  EXPECT_TRUE(parsed.empty());
}

TEST(SafetensorsTest, MetadataRoundTrips) {
  std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"quote\"back\\slash", "line\nbreak\ttab\x01"},
      {"unicode", "\xc3\xa9\xf0\x9f\x98\x80"},
      {"", ""}};
  std::vector<uint8_t> bytes = serializeSafetensors(sampleTensors(), metadata);
  TensorMap parsed;
  std::map<std::string, std::string> readBack;
  ASSERT_TRUE(parse(bytes, parsed, &readBack).ok());
  EXPECT_EQ(readBack, metadata);
  expectSameTensors(sampleTensors(), parsed);
}

TEST(SafetensorsTest, AcceptsForeignButValidHeaders) {
  // Whitespace, escapes, surrogate pairs, metadata anywhere in the object.
  std::string header =
      " {\n\t\"a\\u00e9\\ud83d\\ude00\\/\" : { \"shape\" : [ 1 ] , "
      "\"data_offsets\":[0,4],\"dtype\":\"I32\"},"
      "\"__metadata__\":{\"k\":\"v\\u0041\"}}   ";
  TensorMap parsed;
  std::map<std::string, std::string> metadata;
  ASSERT_TRUE(parse(image(header, "abcd"), parsed, &metadata).ok());
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed.begin()->first, "a\xc3\xa9\xf0\x9f\x98\x80/");
  EXPECT_EQ(metadata["k"], "vA");
}

TEST(SafetensorsTest, ShapeOfRank64IsAccepted) {
  std::string dims = "[1";
  for (int i = 1; i < 64; ++i)
    dims += ",1";
  std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":" + dims +
                       "],\"data_offsets\":[0,4]}}";
  TensorMap parsed;
  ASSERT_TRUE(parse(image(header, "abcd"), parsed).ok());
  EXPECT_EQ(parsed["w"].shape.size(), 64u);
}

TEST(SafetensorsTest, ZeroSizedTensorsMayShareAnOffset) {
  std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],"
                       "\"data_offsets\":[4,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
                       "\"data_offsets\":[0,4]},"
                       "\"c\":{\"dtype\":\"I64\",\"shape\":[2,0],"
                       "\"data_offsets\":[4,4]}}";
  TensorMap parsed;
  ASSERT_TRUE(parse(image(header, "wxyz"), parsed).ok());
  EXPECT_EQ(parsed.size(), 3u);
}

TEST(SafetensorsTest, SizeMismatchMessageIsExact) {
  std::string header = "{\"embed.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                       "\"data_offsets\":[0,12]}}";
  TensorMap parsed;
  Status status = parse(image(header, std::string(12, 'x')), parsed);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "model.safetensors: tensor 'embed.weight': data_offsets [0, 12] "
            "do not match shape [2, 3] of F32 (24 bytes)");
}

//===----------------------------------------------------------------------===//
// Malformed images
//===----------------------------------------------------------------------===//

struct MalformedCase {
  const char *name;
  std::vector<uint8_t> bytes;
  const char *expected;
};

/// Names the case in failure output instead of dumping its bytes.
void PrintTo(const MalformedCase &c, std::ostream *os) { *os << c.name; }

std::string entry(const std::string &name, const std::string &dtype,
                  const std::string &shape, const std::string &offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

std::vector<MalformedCase> malformedCases() {
  std::string data24(24, 'd');
  std::string good = entry("w", "F32", "[2,3]", "[0,24]");
  return {
      {"TruncatedBeforeHeaderLength",
       {1, 2, 3, 4, 5},
       "file of 5 bytes is too small for the 8-byte header length"},
      {"NoBytesAtAll", {}, "file of 0 bytes"},
      {"HeaderLengthTooSmall", rawImage(1, "{}"), "too small for a JSON"},
      {"HeaderLengthZero", rawImage(0, ""), "header length 0"},
      {"HeaderLengthBeyondFile", rawImage(100, "{}"),
       "header length 100 exceeds file size 10 minus 8"},
      {"HeaderLengthAbsurd", rawImage(uint64_t(1) << 63, "{}"),
       "exceeds the limit of 100000000 bytes"},
      {"HeaderLengthAllOnes", rawImage(~uint64_t(0), "{}"),
       "exceeds the limit"},
      {"HeaderNotJson", image("not json"), "invalid header JSON"},
      {"HeaderOnlySpaces", image("        "), "unexpected end of input"},
      {"HeaderNotObject", image("[1,2]   "), "header is an array, not a JSON"},
      {"HeaderIsString", image("\"{}\""), "header is a string"},
      {"EntryNotObject", image("{\"w\":5}"), "tensor 'w': entry is an integer"},
      {"MissingDtype",
       image("{\"w\":{\"shape\":[2,3],\"data_offsets\":[0,24]}}", data24),
       "tensor 'w': missing field 'dtype'"},
      {"MissingShape",
       image("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}}", data24),
       "tensor 'w': missing field 'shape'"},
      {"MissingOffsets", image("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3]}}"),
       "tensor 'w': missing field 'data_offsets'"},
      {"ExtraField",
       image("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,"
             "24],\"extra\":1}}",
             data24),
       "tensor 'w': unexpected field 'extra'"},
      {"UnknownDtype", image("{" + entry("w", "F16", "[2,3]", "[0,12]") + "}"),
       "tensor 'w': unsupported dtype F16"},
      {"DtypeNotString",
       image("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}"),
       "dtype is an integer"},
      {"ShapeNotArray", image("{" + entry("w", "F32", "7", "[0,4]") + "}"),
       "shape is an integer"},
      {"ShapeHoldsString",
       image("{" + entry("w", "F32", "[\"2\"]", "[0,8]") + "}"),
       "shape holds a string"},
      {"NegativeDim", image("{" + entry("w", "F32", "[2,-1]", "[0,0]") + "}"),
       "tensor 'w': negative dimension -1 in shape"},
      {"FloatDim", image("{" + entry("w", "F32", "[2.0]", "[0,8]") + "}"),
       "floating-point numbers are not allowed"},
      {"ExponentDim", image("{" + entry("w", "F32", "[2e0]", "[0,8]") + "}"),
       "floating-point numbers are not allowed"},
      {"FloatOffset", image("{" + entry("w", "F32", "[1]", "[0,4.0]") + "}"),
       "floating-point numbers are not allowed"},
      {"OverflowingShape",
       image("{" +
             entry("w", "F32", "[4294967296,4294967296,4294967296]", "[0,0]") +
             "}"),
       "element count of shape [4294967296, 4294967296, 4294967296] overflows"},
      {"OverflowingByteSize",
       image("{" + entry("w", "F64", "[2305843009213693952]", "[0,0]") + "}"),
       "byte size of shape [2305843009213693952] overflows"},
      {"IntegerOutOfRange",
       image("{" + entry("w", "F32", "[99999999999999999999]", "[0,0]") + "}"),
       "integer out of range"},
      {"OffsetsOutOfRange", image("{" + good + "}", std::string(20, 'd')),
       "tensor 'w': data_offsets [0, 24] exceed the data section of 20 bytes"},
      {"OffsetsNegative", image("{" + entry("w", "F32", "[1]", "[-4,0]") + "}"),
       "data_offsets must be two non-negative integers"},
      {"OffsetsWrongArity",
       image("{" + entry("w", "F32", "[1]", "[0,4,8]") + "}", "abcd"),
       "data_offsets must be two"},
      {"OffsetsNotArray", image("{" + entry("w", "F32", "[1]", "{}") + "}"),
       "data_offsets must be two"},
      {"EndBeforeBegin",
       image("{" + entry("w", "F32", "[1]", "[8,4]") + "}", data24),
       "data_offsets [8, 4] end before they begin"},
      {"SizeMismatch",
       image("{" + entry("w", "F32", "[2,3]", "[0,20]") + "}", data24),
       "data_offsets [0, 20] do not match shape [2, 3] of F32 (24 bytes)"},
      {"OverlappingTensors",
       image("{" + entry("a", "F32", "[4]", "[0,16]") + "," +
                 entry("b", "F32", "[2]", "[8,16]") + "}",
             std::string(16, 'd')),
       "tensor 'b': data_offsets [8, 16] overlap tensor 'a' [0, 16]"},
      {"HoleBetweenTensors",
       image("{" + entry("a", "F32", "[2]", "[0,8]") + "," +
                 entry("b", "F32", "[2]", "[16,24]") + "}",
             data24),
       "tensor 'b': hole in data section: bytes [8, 16]"},
      {"HoleAtStart",
       image("{" + entry("a", "F32", "[2]", "[8,16]") + "}",
             std::string(16, 'd')),
       "tensor 'a': hole in data section: bytes [0, 8]"},
      {"HoleAtEnd", image("{" + good + "}", std::string(32, 'd')),
       "hole in data section: bytes [24, 32] at its end"},
      {"DuplicateTensor", image("{" + good + "," + good + "}", data24),
       "duplicate key 'w'"},
      {"DuplicateField",
       image("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
             "\"data_offsets\":[0,4]}}"),
       "duplicate key 'dtype'"},
      {"TrailingBytesAfterJson", image("{" + good + "} x", data24),
       "trailing characters after the JSON value"},
      {"TrailingNulPadding", image("{" + good + "}\0\0"s, data24),
       "trailing characters"},
      {"MetadataValueNotString",
       image("{\"__metadata__\":{\"k\":1}," + good + "}", data24),
       "'__metadata__' entry 'k' is an integer, not a string"},
      {"MetadataNotObject", image("{\"__metadata__\":[\"a\"]}"),
       "'__metadata__' is an array, not an object"},
      {"MetadataNestedObject",
       image("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}"),
       "'__metadata__' entry 'k' is an object"},
      {"TooDeep", image(std::string(40, '[') + std::string(40, ']')),
       "nesting deeper than 8"},
      {"TooDeepInValue", image("{\"w\":" + std::string(20, '[') + "}"),
       "nesting deeper than 8"},
      {"ArrayOverLimit",
       [] {
         std::string dims = "[1";
         for (int i = 0; i < 100; ++i)
           dims += ",1";
         return image("{" + entry("w", "F32", dims + "]", "[0,4]") + "}",
                      "abcd");
       }(),
       "array longer than 64 elements"},
      {"LeadingZero", image("{" + entry("w", "F32", "[01]", "[0,4]") + "}"),
       "leading zero"},
      {"BareMinus", image("{" + entry("w", "F32", "[-]", "[0,4]") + "}"),
       "expected a digit"},
      {"InvalidEscape", image("{\"a\\x\":1}"), "invalid escape in string"},
      {"LoneLowSurrogate", image("{\"\\udc00\":1}"), "unpaired low surrogate"},
      {"LoneHighSurrogate", image("{\"\\ud800x\":1}"), "unpaired high"},
      {"BadHexEscape", image("{\"\\u12g4\":1}"), "invalid hex digit"},
      {"TruncatedUnicodeEscape", image("{\"\\u12"), "truncated \\u escape"},
      {"InvalidUtf8", image("{\"\xff\":1}"), "invalid UTF-8 in string"},
      {"OverlongUtf8", image("{\"\xc0\xaf\":1}"), "invalid UTF-8 in string"},
      {"ControlCharInString", image("{\"a\nb\":1}"), "control character"},
      {"UnterminatedString", image("{\"abc"), "unterminated string"},
      {"UnterminatedObject", image("{\"a\":\"b\""), "expected ',' or '}'"},
      {"MissingColon", image("{\"a\" 1}"), "expected ':'"},
      {"NonStringKey", image("{1:2}"), "expected a string key"},
      {"TrailingComma", image("{\"a\":\"b\",}"), "expected a string key"},
      {"BadLiteral", image("{\"a\":tru}"), "unexpected character"},
      {"LiteralAsEntry", image("{\"w\":null}"), "entry is null"},
      {"NameEscapedInMessage",
       image("{\"a\\nb\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,"
             "2]}}",
             "ab"),
       "tensor 'a\\x0ab': unsupported dtype F16"},
  };
}

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, FailsWithMessage) {
  const MalformedCase &c = GetParam();
  TensorMap parsed;
  parsed["stale"] = HostTensor::zeros(DType::F32, {1});
  std::map<std::string, std::string> metadata = {{"stale", "x"}};
  Status status = parse(c.bytes, parsed, &metadata);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(c.expected), std::string::npos)
      << "message: " << status.message();
  EXPECT_EQ(status.message().rfind("model.safetensors: ", 0), 0u)
      << status.message();
  EXPECT_EQ(status.message().find('\n'), std::string::npos);
  EXPECT_TRUE(parsed.empty());
  EXPECT_TRUE(metadata.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Safetensors, MalformedTest, ::testing::ValuesIn(malformedCases()),
    [](const ::testing::TestParamInfo<MalformedCase> &info) {
      return std::string(info.param.name);
    });

TEST(SafetensorsTest, EveryTruncationFails) {
  std::vector<uint8_t> bytes =
      serializeSafetensors(sampleTensors(), {{"format", "pt"}});
  for (size_t size = 0; size < bytes.size(); ++size) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
    TensorMap parsed;
    EXPECT_FALSE(parse(cut, parsed).ok()) << "size " << size;
    EXPECT_TRUE(parsed.empty());
  }
}

TEST(SafetensorsTest, ByteMutationsNeverCrash) {
  std::vector<uint8_t> original =
      serializeSafetensors(sampleTensors(), {{"format", "pt"}});
  const uint8_t replacements[] = {0,   1,   '"', '\\', '{',  '}', '[',
                                  ']', ',', ':', '-',  '0',  '9', '.',
                                  'e', 'u', ' ', 0x80, 0xc3, 0xff};
  size_t accepted = 0;
  for (size_t pos = 0; pos < original.size(); ++pos) {
    for (uint8_t value : replacements) {
      std::vector<uint8_t> bytes = original;
      bytes[pos] = value;
      TensorMap parsed;
      if (!parse(bytes, parsed).ok()) {
        EXPECT_TRUE(parsed.empty());
        continue;
      }
      ++accepted;
      for (const auto &[name, tensor] : parsed)
        EXPECT_EQ(tensor.bytes.size(),
                  static_cast<size_t>(tensor.numel()) * dtypeSize(tensor.dtype))
            << name;
    }
  }
  // Mutating data bytes or insignificant spaces leaves valid images.
  EXPECT_GT(accepted, 0u);
}

//===----------------------------------------------------------------------===//
// Disk
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsFileTest, WriteReadRoundTrip) {
  std::string file = path("model.safetensors");
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  ASSERT_TRUE(writeSafetensors(file, sampleTensors(), metadata).ok());
  EXPECT_EQ(fileBytes(file), serializeSafetensors(sampleTensors(), metadata));
  TensorMap parsed;
  std::map<std::string, std::string> readBack;
  Status status = readSafetensors(file, parsed, &readBack);
  ASSERT_TRUE(status.ok()) << status.message();
  expectSameTensors(sampleTensors(), parsed);
  EXPECT_EQ(readBack, metadata);
  // Nothing but the target is left behind.
  EXPECT_EQ(listDir(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(SafetensorsFileTest, OverwritesExistingFile) {
  std::string file = path("model.safetensors");
  ASSERT_TRUE(writeSafetensors(file, sampleTensors()).ok());
  TensorMap small;
  small["x"] = HostTensor::fromF32({1}, {9});
  ASSERT_TRUE(writeSafetensors(file, small).ok());
  TensorMap parsed;
  ASSERT_TRUE(readSafetensors(file, parsed).ok());
  expectSameTensors(small, parsed);
}

TEST_F(SafetensorsFileTest, MissingFileIsAnError) {
  TensorMap parsed;
  Status status = readSafetensors(path("absent.safetensors"), parsed);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("absent.safetensors: cannot open: No such "
                                  "file or directory"),
            std::string::npos)
      << status.message();
}

TEST_F(SafetensorsFileTest, DirectoryIsAnError) {
  TensorMap parsed;
  Status status = readSafetensors(dir, parsed);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("is a directory"), std::string::npos)
      << status.message();
}

TEST_F(SafetensorsFileTest, MalformedFilesFailLikeImages) {
  std::string file = path("bad.safetensors");
  for (const MalformedCase &c : malformedCases()) {
    SCOPED_TRACE(c.name);
    writeBytes(file, c.bytes);
    TensorMap parsed;
    parsed["stale"] = HostTensor::zeros(DType::F32, {1});
    Status status = readSafetensors(file, parsed);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find(c.expected), std::string::npos)
        << status.message();
    EXPECT_EQ(status.message().rfind(file + ": ", 0), 0u) << status.message();
    EXPECT_TRUE(parsed.empty());
  }
}

TEST_F(SafetensorsFileTest, WriteIntoMissingDirectoryFails) {
  std::string file = path("no/such/dir/model.safetensors");
  Status status = writeSafetensors(file, sampleTensors());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind(file + ": ", 0), 0u) << status.message();
  EXPECT_NE(status.message().find("No such file or directory"),
            std::string::npos)
      << status.message();
}

TEST_F(SafetensorsFileTest, FailedWriteLeavesExistingFileUntouched) {
  std::string file = path("model.safetensors");
  TensorMap old;
  old["x"] = HostTensor::fromF32({2}, {1, 2});
  ASSERT_TRUE(writeSafetensors(file, old).ok());
  std::vector<uint8_t> before = fileBytes(file);

  // A directory squatting on the temporary name makes creating it fail even
  // for root, for whom permission bits are no obstacle.
  std::string temp = file + ".tmp." + std::to_string(getpid());
  std::error_code ec;
  ASSERT_TRUE(fs::create_directory(temp, ec));
  Status status = writeSafetensors(file, sampleTensors());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(temp), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("Is a directory"), std::string::npos)
      << status.message();
  EXPECT_EQ(fileBytes(file), before);
  EXPECT_TRUE(fs::is_directory(temp, ec)); // not ours to remove
  fs::remove(temp, ec);

  // Without write permission on the directory (skipped as root).
  if (geteuid() != 0) {
    fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec, ec);
    status = writeSafetensors(file, sampleTensors());
    fs::permissions(dir, fs::perms::owner_all, ec);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("Permission denied"), std::string::npos)
        << status.message();
    EXPECT_EQ(fileBytes(file), before);
  }
  EXPECT_EQ(listDir(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(SafetensorsFileTest, InvalidTensorIsNotWritten) {
  std::string file = path("model.safetensors");
  ASSERT_TRUE(writeSafetensors(file, sampleTensors()).ok());
  std::vector<uint8_t> before = fileBytes(file);

  TensorMap bad;
  bad["w"] = HostTensor::zeros(DType::F32, {2, 3});
  bad["w"].bytes.resize(20);
  Status status = writeSafetensors(file, bad);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("tensor 'w': holds 20 bytes, but shape "
                                  "[2, 3] of F32 needs 24"),
            std::string::npos)
      << status.message();

  TensorMap reserved;
  reserved["__metadata__"] = HostTensor::zeros(DType::F32, {1});
  status = writeSafetensors(file, reserved);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("reserved"), std::string::npos);

  TensorMap negative;
  negative["n"].shape = {-1};
  EXPECT_FALSE(writeSafetensors(file, negative).ok());

  EXPECT_EQ(fileBytes(file), before);
  EXPECT_EQ(listDir(), std::vector<std::string>{"model.safetensors"});
}

} // namespace
