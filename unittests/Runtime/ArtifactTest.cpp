//===- ArtifactTest.cpp - Artifact manifests, loading and calls -----------===//
//
// The loader is exercised against TestArtifactLib.c, a hand-written library
// that follows the compiled-code calling convention. Manifests are checked
// with a table of malformed documents that must each fail with a specific
// one-line message.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/Artifact.h"
#include "megalodon/runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#ifndef MEGALODON_TEST_ARTIFACT_LIB
#error "MEGALODON_TEST_ARTIFACT_LIB must name the test artifact library"
#endif

using namespace megalodon::rt;
namespace fs = std::filesystem;

namespace {

bool isAligned(const void *pointer) {
  return reinterpret_cast<uintptr_t>(pointer) % kTensorAlignment == 0;
}

TensorSpec spec(const char *name, TensorKind kind, DType dtype,
                std::vector<int64_t> shape) {
  TensorSpec result;
  result.name = name;
  result.kind = kind;
  result.dtype = dtype;
  result.shape = std::move(shape);
  return result;
}

/// The three entry points TestArtifactLib.c exports.
Manifest sampleManifest() {
  Manifest manifest;
  manifest.library = "model.so";
  manifest.key = "0123abcd";
  // Quotes, a newline and non-ASCII text must survive the string escaping.
  manifest.configJson = "{\"dim\": 4,\n \"name\": \"m\xc3\xa9ga\"}";

  EntryPoint add;
  add.name = "add";
  add.symbol = "megalodon_entry_add";
  add.arguments = {spec("a", TensorKind::Input, DType::F32, {2, 3}),
                   spec("b", TensorKind::Param, DType::F32, {2, 3})};
  add.results = {spec("sum", TensorKind::Output, DType::F32, {2, 3})};

  EntryPoint sum;
  sum.name = "sum";
  sum.symbol = "megalodon_entry_sum";
  sum.arguments = {spec("x", TensorKind::State, DType::F32, {2, 3})};
  sum.results = {spec("total", TensorKind::Output, DType::F32, {})};

  EntryPoint inspect;
  inspect.name = "inspect";
  inspect.symbol = "megalodon_entry_inspect";
  inspect.arguments = {spec("t", TensorKind::Input, DType::I32, {2, 3, 4})};
  inspect.results = {spec("fields", TensorKind::Output, DType::I64, {9})};

  manifest.entryPoints = {add, sum, inspect};
  return manifest;
}

void expectSameSpecs(const std::vector<TensorSpec> &expected,
                     const std::vector<TensorSpec> &actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(expected[i].name, actual[i].name);
    EXPECT_EQ(expected[i].kind, actual[i].kind);
    EXPECT_EQ(expected[i].dtype, actual[i].dtype);
    EXPECT_EQ(expected[i].shape, actual[i].shape);
  }
}

void expectSameManifest(const Manifest &expected, const Manifest &actual) {
  EXPECT_EQ(expected.library, actual.library);
  EXPECT_EQ(expected.key, actual.key);
  EXPECT_EQ(expected.configJson, actual.configJson);
  ASSERT_EQ(expected.entryPoints.size(), actual.entryPoints.size());
  for (size_t i = 0; i < expected.entryPoints.size(); ++i) {
    SCOPED_TRACE(expected.entryPoints[i].name);
    EXPECT_EQ(expected.entryPoints[i].name, actual.entryPoints[i].name);
    EXPECT_EQ(expected.entryPoints[i].symbol, actual.entryPoints[i].symbol);
    expectSameSpecs(expected.entryPoints[i].arguments,
                    actual.entryPoints[i].arguments);
    expectSameSpecs(expected.entryPoints[i].results,
                    actual.entryPoints[i].results);
  }
}

Status parseText(const std::string &text, Manifest &out) {
  return parseManifest(reinterpret_cast<const uint8_t *>(text.data()),
                       text.size(), "art/manifest.json", out);
}

/// Expects a failed status whose single-line message contains every needle.
void expectError(const Status &status,
                 std::initializer_list<std::string> needles) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
  for (const std::string &needle : needles)
    EXPECT_NE(status.message().find(needle), std::string::npos)
        << "missing '" << needle << "' in: " << status.message();
}

//===----------------------------------------------------------------------===//
// Aligned storage
//===----------------------------------------------------------------------===//

TEST(AlignedStorageTest, HostTensorBuffersAre64ByteAligned) {
  for (int64_t count : {1, 3, 17, 1000, 100003}) {
    HostTensor tensor = HostTensor::zeros(DType::BF16, {count});
    EXPECT_TRUE(isAligned(tensor.bytes.data())) << count;
    HostTensor copy = tensor;
    EXPECT_TRUE(isAligned(copy.bytes.data())) << count;
  }
  EXPECT_TRUE(isAligned(HostTensor::fromF32({3}, {1, 2, 3}).bytes.data()));
  EXPECT_TRUE(isAligned(HostTensor::fromI64({}, {7}).bytes.data()));

  ByteVector grown;
  for (int i = 0; i < 5000; ++i) {
    grown.push_back(static_cast<uint8_t>(i));
    ASSERT_TRUE(isAligned(grown.data())) << i;
  }
  EXPECT_EQ(grown[4999], static_cast<uint8_t>(4999));
}

TEST(AlignedStorageTest, ParsedSafetensorsAreAligned) {
  TensorMap tensors;
  tensors["a"] = HostTensor::fromF32({3}, {1, 2, 3});
  tensors["b"] = HostTensor::fromF64({1}, {4});
  std::vector<uint8_t> image = serializeSafetensors(tensors);
  TensorMap parsed;
  ASSERT_TRUE(parseSafetensors(image.data(), image.size(), "x", parsed).ok());
  for (const auto &[name, tensor] : parsed)
    EXPECT_TRUE(isAligned(tensor.bytes.data())) << name;
}

TEST(AlignedStorageTest, AllocatorWorksForWiderTypes) {
  AlignedAllocator<double> allocator;
  double *values = allocator.allocate(5);
  EXPECT_TRUE(isAligned(values));
  allocator.deallocate(values, 5);
  std::vector<double, AlignedAllocator<double, 128>> wide(33, 1.5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(wide.data()) % 128, 0u);
  EXPECT_TRUE(AlignedAllocator<int>() == AlignedAllocator<int>());
}

//===----------------------------------------------------------------------===//
// Manifest round trips
//===----------------------------------------------------------------------===//

TEST(ManifestTest, SerializedManifestParsesBack) {
  Manifest manifest = sampleManifest();
  ASSERT_TRUE(validateManifest(manifest, "m").ok());
  Manifest parsed;
  Status status = parseText(serializeManifest(manifest), parsed);
  ASSERT_TRUE(status.ok()) << status.message();
  expectSameManifest(manifest, parsed);
  ASSERT_NE(parsed.findEntryPoint("sum"), nullptr);
  EXPECT_EQ(parsed.findEntryPoint("sum")->symbol, "megalodon_entry_sum");
  EXPECT_EQ(parsed.findEntryPoint("nope"), nullptr);
}

TEST(ManifestTest, KindNamesRoundTrip) {
  for (TensorKind kind : {TensorKind::Input, TensorKind::Param,
                          TensorKind::State, TensorKind::Output}) {
    TensorKind parsed;
    ASSERT_TRUE(parseTensorKind(tensorKindName(kind), parsed));
    EXPECT_EQ(parsed, kind);
  }
  TensorKind parsed;
  EXPECT_FALSE(parseTensorKind("Input", parsed));
  EXPECT_FALSE(parseTensorKind("", parsed));
}

TEST(ManifestTest, EmptyListsRoundTrip) {
  Manifest manifest = sampleManifest();
  manifest.entryPoints.resize(1);
  manifest.entryPoints[0].arguments.clear();
  manifest.entryPoints[0].results.clear();
  Manifest parsed;
  Status status = parseText(serializeManifest(manifest), parsed);
  ASSERT_TRUE(status.ok()) << status.message();
  expectSameManifest(manifest, parsed);
}

TEST(ManifestTest, LongArgumentListsAreAccepted) {
  // A model's parameter list is far longer than any safetensors shape.
  Manifest manifest = sampleManifest();
  std::vector<TensorSpec> &arguments = manifest.entryPoints[0].arguments;
  for (int i = 0; i < 500; ++i)
    arguments.push_back(spec("", TensorKind::Param, DType::BF16, {4, i}));
  for (int i = 0; i < 500; ++i)
    arguments[2 + i].name = "layers." + std::to_string(i) + ".w";
  Manifest parsed;
  Status status = parseText(serializeManifest(manifest), parsed);
  ASSERT_TRUE(status.ok()) << status.message();
  expectSameManifest(manifest, parsed);
}

//===----------------------------------------------------------------------===//
// Malformed manifests
//===----------------------------------------------------------------------===//

/// A valid manifest in one line; each case below changes one piece of it.
const char *const kBaseManifest =
    R"({"format": "megalodon-artifact", "version": 1, "library": "model.so", )"
    R"("key": "ab12", "config": "{}", "entry_points": [{"name": "add", )"
    R"("symbol": "megalodon_entry_add", "arguments": [{"name": "a", )"
    R"("kind": "input", "dtype": "F32", "shape": [2, 3]}], "results": )"
    R"([{"name": "out", "kind": "output", "dtype": "F32", "shape": [2, 3]}]}]})";

struct MalformedCase {
  const char *name;
  /// Text of kBaseManifest to replace (must occur), and its replacement.
  std::string from;
  std::string to;
  std::string expected;
};

std::string applyCase(const MalformedCase &c) {
  std::string text = kBaseManifest;
  size_t at = text.find(c.from);
  EXPECT_NE(at, std::string::npos) << c.from;
  if (at == std::string::npos)
    return text;
  return text.replace(at, c.from.size(), c.to);
}

std::vector<MalformedCase> malformedCases() {
  const std::string base = kBaseManifest;
  // From the comma before "entry_points" to the end of the document.
  const std::string entryPoints = base.substr(base.find(", \"entry_points\""));
  const std::string argument =
      R"({"name": "a", "kind": "input", "dtype": "F32", "shape": [2, 3]})";
  return {
      // Document level.
      {"Empty", base, "", "invalid JSON: unexpected end of input at byte 0"},
      {"NotAnObject", base, "[1, 2]",
       "manifest is an array, not a JSON object"},
      {"TrailingGarbage", base, base + " x",
       "invalid JSON: trailing characters after the JSON value"},
      {"SecondDocument", base, base + "{}", "trailing characters"},
      {"DuplicateKey", R"("key": "ab12")", R"("key": "ab12", "key": "x")",
       "duplicate key 'key'"},
      {"Float", "[2, 3]}]", "[2.5, 3]}]", "floating-point numbers"},
      {"InvalidUtf8", "ab12", "ab\xff", "invalid UTF-8"},
      // Format and version.
      {"WrongFormat", "megalodon-artifact", "safetensors",
       "format: 'safetensors' is not 'megalodon-artifact'"},
      {"MissingFormat", R"("format": "megalodon-artifact", )", "",
       "missing field 'format'"},
      {"FormatNotString", R"("megalodon-artifact")", "7",
       "format: is an integer, not a string"},
      {"Version2", R"("version": 1)", R"("version": 2)",
       "version: unsupported manifest version 2 (this runtime reads version "
       "1)"},
      {"Version2WithNewFields", R"("version": 1)",
       R"("version": 2, "future": true)", "unsupported manifest version 2"},
      {"VersionString", R"("version": 1)", R"("version": "1")",
       "version: is a string, not an integer"},
      {"MissingVersion", R"("version": 1, )", "", "missing field 'version'"},
      // Root fields.
      {"MissingLibrary", R"("library": "model.so", )", "",
       "missing field 'library'"},
      {"MissingKey", R"("key": "ab12", )", "", "missing field 'key'"},
      {"MissingConfig", R"("config": "{}", )", "", "missing field 'config'"},
      {"ConfigNotString", R"("config": "{}")", R"("config": {})",
       "config: is an object, not a string"},
      {"MissingEntryPoints", entryPoints, "}", "missing field 'entry_points'"},
      {"UnknownRootField", R"("key": "ab12", )",
       R"("key": "ab12", "extra": 1, )", "unexpected field 'extra'"},
      {"EntryPointsNotArray", entryPoints, R"(, "entry_points": 3})",
       "entry_points: is an integer, not an array"},
      {"NoEntryPoints", entryPoints, R"(, "entry_points": []})",
       "entry_points: is empty"},
      // Library names.
      {"LibraryWithSlash", R"("model.so")", R"("lib/model.so")",
       "library: 'lib/model.so' must be a file name without '/'"},
      {"LibraryEscapingDirectory", R"("model.so")", R"("../model.so")",
       "library: '../model.so' must be a file name without '/'"},
      {"LibraryAbsolute", R"("model.so")", R"("/tmp/model.so")",
       "must be a file name without '/'"},
      {"LibraryDotDot", R"("model.so")", R"("..")", "library: '..' is not a"},
      {"LibraryEmpty", R"("model.so")", R"("")", "library: is empty"},
      {"LibraryNul", R"("model.so")", R"("model.so\u0000x")",
       "library: contains a NUL character"},
      // Entry points.
      {"EntryNotObject", R"("entry_points": [{"name": "add", )",
       R"("entry_points": [7, {"name": "add", )",
       "entry_points[0]: is an integer, not an object"},
      {"MissingSymbol", R"("symbol": "megalodon_entry_add", )", "",
       "entry_points[0]: missing field 'symbol'"},
      {"SymbolNotIdentifier", "megalodon_entry_add", "megalodon entry",
       "entry_points[0].symbol: 'megalodon entry' is not a C identifier"},
      {"SymbolEmpty", R"("megalodon_entry_add")", R"("")",
       "entry_points[0].symbol: '' is not a C identifier"},
      {"EntryNameEmpty", R"("name": "add")", R"("name": "")",
       "entry_points[0].name: is empty"},
      {"UnknownEntryField", R"("symbol": "megalodon_entry_add", )",
       R"("symbol": "megalodon_entry_add", "doc": "x", )",
       "entry_points[0]: unexpected field 'doc'"},
      {"ArgumentsNotArray", "\"arguments\": [" + argument + "]",
       R"("arguments": {})",
       "entry_points[0].arguments: is an object, not an array"},
      {"MissingResults",
       R"(, "results": [{"name": "out", "kind": "output", )"
       R"("dtype": "F32", "shape": [2, 3]}])",
       "", "entry_points[0]: missing field 'results'"},
      // Tensors.
      {"BadDtype", R"("dtype": "F32", "shape": [2, 3]}], "results")",
       R"("dtype": "F16", "shape": [2, 3]}], "results")",
       "entry_points[0].arguments[0].dtype: unsupported dtype 'F16'"},
      {"DtypeNotString", R"("dtype": "F32", "shape": [2, 3]}], "results")",
       R"("dtype": null, "shape": [2, 3]}], "results")",
       "entry_points[0].arguments[0].dtype: is null, not a string"},
      {"BadKind", R"("kind": "input")", R"("kind": "weight")",
       "entry_points[0].arguments[0].kind: unknown kind 'weight'"},
      {"OutputArgument", R"("kind": "input")", R"("kind": "output")",
       "entry_points[0].arguments[0].kind: an argument cannot be an output"},
      {"InputResult", R"("kind": "output")", R"("kind": "input")",
       "entry_points[0].results[0].kind: a result cannot be an input"},
      {"NegativeDim", "[2, 3]}], \"results\"", "[2, -3]}], \"results\"",
       "entry_points[0].arguments[0].shape: negative dimension -3"},
      {"ShapeNotArray", "[2, 3]}], \"results\"", "6}], \"results\"",
       "entry_points[0].arguments[0].shape: is an integer, not an array"},
      {"ShapeHoldsString", "[2, 3]}], \"results\"", "[2, \"3\"]}], \"results\"",
       "entry_points[0].arguments[0].shape[1]: is a string, not an integer"},
      {"ShapeOverflows", "[2, 3]}]}]", "[4294967296, 4294967296]}]}]",
       "entry_points[0].results[0].shape: element count of [4294967296, "
       "4294967296] overflows"},
      {"BytesOverflow", "[2, 3]}]}]", "[2305843009213693952]}]}]",
       "entry_points[0].results[0].shape: byte size of"},
      {"RankTooLarge", "[2, 3]}]}]",
       "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}]}]",
       "entry_points[0].results[0].shape: rank 17 exceeds the limit of 16"},
      {"MissingTensorName", R"({"name": "a", )", "{",
       "entry_points[0].arguments[0]: missing field 'name'"},
      {"TensorNameEmpty", R"({"name": "a", )", R"({"name": "", )",
       "entry_points[0].arguments[0].name: is empty"},
      {"DuplicateArgument", argument, argument + ", " + argument,
       "entry_points[0].arguments[1].name: duplicate name 'a'"},
      {"UnknownTensorField", R"("kind": "input", )",
       R"("kind": "input", "layout": "nchw", )",
       "entry_points[0].arguments[0]: unexpected field 'layout'"},
      {"NameEscapedInMessage", R"("kind": "input")", R"("kind": "a\nb")",
       "unknown kind 'a\\x0ab'"},
  };
}

class MalformedManifestTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedManifestTest, FailsWithMessage) {
  const MalformedCase &c = GetParam();
  Manifest parsed = sampleManifest();
  Status status = parseText(applyCase(c), parsed);
  expectError(status, {c.expected});
  EXPECT_EQ(status.message().rfind("art/manifest.json: ", 0), 0u)
      << status.message();
  EXPECT_TRUE(parsed.entryPoints.empty());
  EXPECT_TRUE(parsed.library.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Manifest, MalformedManifestTest, ::testing::ValuesIn(malformedCases()),
    [](const ::testing::TestParamInfo<MalformedCase> &info) {
      return std::string(info.param.name);
    });

TEST(ManifestTest, BaseOfMalformedCasesIsValid) {
  Manifest parsed;
  Status status = parseText(kBaseManifest, parsed);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(parsed.entryPoints.size(), 1u);
  EXPECT_EQ(parsed.entryPoints[0].arguments[0].shape,
            (std::vector<int64_t>{2, 3}));
}

TEST(ManifestTest, ValidationRulesWithoutJson) {
  Manifest manifest = sampleManifest();
  manifest.entryPoints.clear();
  expectError(validateManifest(manifest, "m"), {"m: entry_points: is empty"});

  manifest = sampleManifest();
  manifest.entryPoints[2].name = "add";
  expectError(validateManifest(manifest, "m"),
              {"m: entry_points[2].name: duplicate entry point 'add'"});

  manifest = sampleManifest();
  manifest.entryPoints[0].symbol = "9lives";
  expectError(validateManifest(manifest, "m"), {"is not a C identifier"});

  // The same name may appear once among arguments and once among results:
  // state goes in and comes back updated.
  manifest = sampleManifest();
  manifest.entryPoints[1].results[0].name = "x";
  manifest.entryPoints[1].results[0].kind = TensorKind::State;
  EXPECT_TRUE(validateManifest(manifest, "m").ok());
}

//===----------------------------------------------------------------------===//
// Files and loading
//===----------------------------------------------------------------------===//

/// A fresh artifact directory under the test temp dir, removed afterwards.
class ArtifactTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "artifact_XXXXXX";
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
  void copyLibrary(const std::string &name = "model.so") {
    std::error_code ec;
    fs::copy_file(MEGALODON_TEST_ARTIFACT_LIB, path(name),
                  fs::copy_options::overwrite_existing, ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  void writeText(const std::string &name, const std::string &text) {
    std::ofstream file(path(name), std::ios::binary);
    file << text;
    ASSERT_TRUE(file.good());
  }
  /// Writes `manifest` and the library, then loads the artifact.
  void loadSample(std::unique_ptr<Artifact> &artifact,
                  const Manifest &manifest = sampleManifest()) {
    ASSERT_NO_FATAL_FAILURE(copyLibrary());
    ASSERT_TRUE(writeManifest(path("manifest.json"), manifest).ok());
    Status status = Artifact::load(dir, artifact);
    ASSERT_TRUE(status.ok()) << status.message();
    ASSERT_NE(artifact, nullptr);
  }

  std::string dir;
};

TEST_F(ArtifactTest, WriteManifestRoundTripsThroughTheFile) {
  Manifest manifest = sampleManifest();
  ASSERT_TRUE(writeManifest(path("manifest.json"), manifest).ok());
  Manifest read;
  Status status = readManifest(path("manifest.json"), read);
  ASSERT_TRUE(status.ok()) << status.message();
  expectSameManifest(manifest, read);
  // Nothing but the manifest: the temporary file was renamed into place.
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"manifest.json"});
}

TEST_F(ArtifactTest, WriteManifestRejectsInvalidManifests) {
  Manifest bad = sampleManifest();
  bad.entryPoints[0].arguments[0].shape = {2, -1};
  std::string file = path("manifest.json");
  expectError(writeManifest(file, bad),
              {file + ": entry_points[0].arguments[0].shape: negative "
                      "dimension -1"});
  EXPECT_FALSE(fs::exists(file));

  // Text the reader could not read back is refused, not written.
  bad = sampleManifest();
  bad.configJson = "\xc0\xaf";
  expectError(writeManifest(file, bad),
              {file + ": config: is not valid UTF-8"});
  EXPECT_FALSE(fs::exists(file));

  bad = sampleManifest();
  bad.library = "../escape.so";
  expectError(writeManifest(file, bad), {"must be a file name without '/'"});
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(ArtifactTest, ReadManifestFileErrors) {
  Manifest out;
  expectError(readManifest(path("manifest.json"), out),
              {path("manifest.json") + ": cannot open: No such file"});
  fs::create_directory(path("sub"));
  expectError(readManifest(path("sub"), out),
              {path("sub") + ": is a directory, not a manifest"});
  writeText("big.json", std::string(kMaxManifestSize + 1, ' '));
  expectError(readManifest(path("big.json"), out),
              {"exceeds the limit of " + std::to_string(kMaxManifestSize)});
}

TEST_F(ArtifactTest, LoadAndCall) {
  std::unique_ptr<Artifact> artifact;
  ASSERT_NO_FATAL_FAILURE(loadSample(artifact));
  EXPECT_EQ(artifact->key(), "0123abcd");
  EXPECT_EQ(artifact->configJson(), sampleManifest().configJson);
  EXPECT_EQ(artifact->directory(), dir);
  EXPECT_EQ(artifact->entryPoint("missing"), nullptr);

  const EntryPoint *add = artifact->entryPoint("add");
  ASSERT_NE(add, nullptr);
  HostTensor a = HostTensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  HostTensor b = HostTensor::fromF32({2, 3}, {10, 20, 30, 40, 50, 60.5f});
  std::vector<HostTensor> results = allocateResults(*add);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(isAligned(results[0].bytes.data()));
  Status status = artifact->call(*add, {&a, &b}, results);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(results[0].toF64(),
            (std::vector<double>{11, 22, 33, 44, 55, 66.5}));

  const EntryPoint *sum = artifact->entryPoint("sum");
  ASSERT_NE(sum, nullptr);
  std::vector<HostTensor> total = allocateResults(*sum);
  ASSERT_EQ(total.size(), 1u);
  EXPECT_TRUE(total[0].shape.empty());
  status = artifact->call(*sum, {&a}, total);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(total[0].toF64(), std::vector<double>{21});
}

#if defined(__GLIBC__)
// Once an artifact is loaded, large blocks come from the heap and stay
// there (Artifact.cpp, keepBuffersInHeap): a 64 MiB block, above glibc's
// largest mmap threshold, is not mapped on its own, and freeing it returns
// nothing to the system.
TEST_F(ArtifactTest, LargeBuffersStayInTheHeap) {
  if (const char *policy = std::getenv("MEGALODON_MALLOC"))
    GTEST_SKIP() << "MEGALODON_MALLOC=" << policy;
  std::unique_ptr<Artifact> artifact;
  ASSERT_NO_FATAL_FAILURE(loadSample(artifact));
  size_t mappedBefore = mallinfo2().hblkhd;
  void *block = std::malloc(64 << 20);
  ASSERT_NE(block, nullptr);
  static_cast<volatile char *>(block)[0] = 1;
  EXPECT_EQ(mallinfo2().hblkhd, mappedBefore);
  size_t heapWithBlock = mallinfo2().arena;
  std::free(block);
  EXPECT_EQ(mallinfo2().arena, heapWithBlock);
}
#endif

TEST_F(ArtifactTest, DescriptorLayout) {
  std::unique_ptr<Artifact> artifact;
  ASSERT_NO_FATAL_FAILURE(loadSample(artifact));
  const EntryPoint *inspect = artifact->entryPoint("inspect");
  ASSERT_NE(inspect, nullptr);
  HostTensor t = HostTensor::zeros(DType::I32, {2, 3, 4});
  std::vector<HostTensor> results = allocateResults(*inspect);
  Status status = artifact->call(*inspect, {&t}, results);
  ASSERT_TRUE(status.ok()) << status.message();
  // allocated == aligned, aligned % 64, offset, sizes, row-major strides.
  EXPECT_EQ(results[0].toF64(),
            (std::vector<double>{1, 0, 0, 2, 3, 4, 12, 4, 1}));
}

TEST_F(ArtifactTest, ArgumentMismatchesNameTheTensor) {
  std::unique_ptr<Artifact> artifact;
  ASSERT_NO_FATAL_FAILURE(loadSample(artifact));
  const EntryPoint &add = *artifact->entryPoint("add");
  std::string prefix = "artifact '" + dir + "': entry point 'add': ";
  HostTensor a = HostTensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<HostTensor> results = allocateResults(add);

  HostTensor wrongDtype = HostTensor::zeros(DType::BF16, {2, 3});
  expectError(artifact->call(add, {&a, &wrongDtype}, results),
              {prefix + "argument 'b': dtype BF16, expected F32"});

  HostTensor wrongShape = HostTensor::zeros(DType::F32, {3, 2});
  expectError(artifact->call(add, {&wrongShape, &a}, results),
              {prefix + "argument 'a': shape [3, 2], expected [2, 3]"});

  HostTensor wrongRank = HostTensor::zeros(DType::F32, {6});
  expectError(artifact->call(add, {&a, &wrongRank}, results),
              {"argument 'b': shape [6], expected [2, 3]"});

  HostTensor shortBuffer = HostTensor::zeros(DType::F32, {2, 3});
  shortBuffer.bytes.resize(20);
  expectError(artifact->call(add, {&a, &shortBuffer}, results),
              {"argument 'b': holds 20 bytes, but its shape needs 24"});

  expectError(artifact->call(add, {&a}, results),
              {prefix + "expected 2 arguments, got 1"});
  expectError(artifact->call(add, {&a, nullptr}, results),
              {"argument 'b': is null"});

  std::vector<HostTensor> noResults;
  expectError(artifact->call(add, {&a, &a}, noResults),
              {prefix + "expected 1 results, got 0"});
  std::vector<HostTensor> badResult = {HostTensor::zeros(DType::F32, {2, 2})};
  expectError(artifact->call(add, {&a, &a}, badResult),
              {prefix + "result 'sum': shape [2, 2], expected [2, 3]"});

  // Compiled code assumes results do not alias arguments.
  expectError(artifact->call(add, {&a, &results[0]}, results),
              {"argument 'b': shares its buffer with a result"});

  // An entry point from another manifest, even of the same name.
  Manifest other = sampleManifest();
  expectError(artifact->call(other.entryPoints[0], {&a, &a}, results),
              {prefix + "does not belong to this artifact"});

  // Nothing was written by the failed calls.
  EXPECT_EQ(results[0].toF64(), std::vector<double>(6, 0.0));
}

TEST_F(ArtifactTest, LoadErrors) {
  std::unique_ptr<Artifact> artifact;

  // No manifest at all.
  expectError(Artifact::load(dir, artifact),
              {path("manifest.json") + ": cannot open"});
  EXPECT_EQ(artifact, nullptr);

  // The library the manifest names is missing.
  Manifest manifest = sampleManifest();
  manifest.library = "absent.so";
  ASSERT_TRUE(writeManifest(path("manifest.json"), manifest).ok());
  expectError(Artifact::load(dir, artifact),
              {"artifact '" + dir + "': cannot load library 'absent.so': ",
               "absent.so"});
  EXPECT_EQ(artifact, nullptr);

  // A file that is not a shared library.
  writeText("absent.so", "not an ELF file");
  expectError(Artifact::load(dir, artifact),
              {"cannot load library 'absent.so'"});

  // A library name with '/' never reaches dlopen.
  ASSERT_NO_FATAL_FAILURE(copyLibrary());
  std::string text = serializeManifest(manifest);
  text.replace(text.find("absent.so"), 9, "../model.so");
  writeText("manifest.json", text);
  expectError(Artifact::load(dir, artifact),
              {path("manifest.json") +
               ": library: '../model.so' must be a file name without '/'"});

  // A symbol the library does not export.
  manifest = sampleManifest();
  manifest.entryPoints[1].symbol = "megalodon_entry_missing";
  ASSERT_TRUE(writeManifest(path("manifest.json"), manifest).ok());
  expectError(Artifact::load(dir, artifact),
              {"entry point 'sum': symbol 'megalodon_entry_missing' not found",
               "megalodon_entry_missing"});
  EXPECT_EQ(artifact, nullptr);

  // A symbol that resolves, if at all, outside the library.
  manifest.entryPoints[1].symbol = "malloc";
  ASSERT_TRUE(writeManifest(path("manifest.json"), manifest).ok());
  expectError(Artifact::load(dir, artifact),
              {"entry point 'sum': symbol 'malloc'"});
  EXPECT_EQ(artifact, nullptr);

  // A malformed manifest is reported as such.
  writeText("manifest.json", "{\"format\": \"megalodon-artifact\", "
                             "\"version\": 2}");
  expectError(Artifact::load(dir, artifact),
              {path("manifest.json") + ": version: unsupported manifest "
                                       "version 2"});
}

TEST_F(ArtifactTest, TwoArtifactsFromOneLibraryFileAreIndependent) {
  std::unique_ptr<Artifact> first;
  ASSERT_NO_FATAL_FAILURE(loadSample(first));
  std::unique_ptr<Artifact> second;
  Status status = Artifact::load(dir + "/", second);
  ASSERT_TRUE(status.ok()) << status.message();
  first.reset();
  // The second handle keeps the library mapped.
  HostTensor x = HostTensor::fromF32({2, 3}, {1, 1, 1, 1, 1, 1});
  std::vector<HostTensor> total = allocateResults(*second->entryPoint("sum"));
  status = second->call(*second->entryPoint("sum"), {&x}, total);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(total[0].toF64(), std::vector<double>{6});
}

} // namespace
