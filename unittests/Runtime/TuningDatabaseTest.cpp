//===- TuningDatabaseTest.cpp - The tuning database file format -----------===//

#include "megalodon/runtime/TuningDatabase.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace megalodon::rt;

namespace {

TuningEntry entry(const std::string &op, int64_t space, int64_t block) {
  TuningEntry e;
  e.key = {"megalodon 0.1; LLVM 22", "x86_64;cpu;+avx2", op, space};
  e.sizes = {{"block_time", block}, {"lanes", 16}, {"state_group", 4}};
  e.timeNs = 1000;
  e.defaultTimeNs = 1500;
  return e;
}

Status parse(const std::string &text, TuningDatabase &out) {
  return parseTuningDatabase(reinterpret_cast<const uint8_t *>(text.data()),
                             text.size(), "db.json", out);
}

std::string withEntry(const std::string &entryText) {
  return R"({"format": "megalodon-tuning-db", "version": 1, "entries": [)" +
         entryText + "]}";
}

constexpr const char *kGoodEntry =
    R"({"compiler": "c", "target": "t", "op": "o", "space": 1,
        "sizes": {"lanes": 16}, "time_ns": 5, "default_time_ns": 6})";

TEST(TuningDatabaseTest, KeysAreExact) {
  TuningDatabase db;
  db.put(entry("megalodon.cema(a)", 1, 64));
  db.put(entry("megalodon.cema(b)", 1, 32));
  ASSERT_NE(db.find(entry("megalodon.cema(a)", 1, 0).key), nullptr);
  EXPECT_EQ(db.find(entry("megalodon.cema(a)", 1, 0).key)->sizes[0].second, 64);
  // Another space version, op, target or compiler is a miss.
  EXPECT_EQ(db.find(entry("megalodon.cema(a)", 2, 0).key), nullptr);
  EXPECT_EQ(db.find(entry("megalodon.cema(c)", 1, 0).key), nullptr);
  TuningKey otherTarget = entry("megalodon.cema(a)", 1, 0).key;
  otherTarget.target = "aarch64;cpu;+neon";
  EXPECT_EQ(db.find(otherTarget), nullptr);
  TuningKey otherCompiler = entry("megalodon.cema(a)", 1, 0).key;
  otherCompiler.compiler = "megalodon 0.2; LLVM 22";
  EXPECT_EQ(db.find(otherCompiler), nullptr);
  // put() replaces the entry with the same key.
  db.put(entry("megalodon.cema(a)", 1, 128));
  EXPECT_EQ(db.entries.size(), 2u);
  EXPECT_EQ(db.find(entry("megalodon.cema(a)", 1, 0).key)->sizes[0].second,
            128);
}

TEST(TuningDatabaseTest, RoundTripsThroughText) {
  TuningDatabase db;
  db.put(entry("megalodon.cema(tensor<1x8x16xf32>) -> (\"quoted\")", 1, 64));
  db.put(entry("megalodon.cema_grad(x)", 3, 7));
  std::string text = serializeTuningDatabase(db);
  TuningDatabase back;
  ASSERT_TRUE(parse(text, back).ok()) << parse(text, back).message();
  ASSERT_EQ(back.entries.size(), db.entries.size());
  for (size_t i = 0; i < db.entries.size(); ++i) {
    EXPECT_TRUE(back.entries[i].key == db.entries[i].key);
    EXPECT_EQ(back.entries[i].sizes, db.entries[i].sizes);
    EXPECT_EQ(back.entries[i].timeNs, db.entries[i].timeNs);
    EXPECT_EQ(back.entries[i].defaultTimeNs, db.entries[i].defaultTimeNs);
  }
  EXPECT_EQ(serializeTuningDatabase(back), text);
}

TEST(TuningDatabaseTest, FileRoundTripAndMissingFile) {
  std::string dir = ::testing::TempDir() + "megalodon-tuning-test/sub";
  std::string path = dir + "/tuning.json";
  std::remove(path.c_str());
  TuningDatabase empty;
  ASSERT_TRUE(readTuningDatabase(path, empty).ok());
  EXPECT_TRUE(empty.entries.empty());
  TuningDatabase db;
  db.put(entry("op", 1, 64));
  ASSERT_TRUE(writeTuningDatabase(path, db).ok());
  TuningDatabase back;
  ASSERT_TRUE(readTuningDatabase(path, back).ok());
  EXPECT_EQ(back.entries.size(), 1u);
  // A rewrite replaces the file whole.
  db.put(entry("op2", 1, 32));
  ASSERT_TRUE(writeTuningDatabase(path, db).ok());
  ASSERT_TRUE(readTuningDatabase(path, back).ok());
  EXPECT_EQ(back.entries.size(), 2u);
}

struct BadCase {
  const char *name;
  std::string text;
  const char *message;
};

TEST(TuningDatabaseTest, RejectsMalformedFilesWithTheField) {
  const BadCase cases[] = {
      {"not json", "{", "db.json: invalid JSON"},
      {"foreign format", R"({"format": "other", "version": 1, "entries": []})",
       "db.json: format: 'other' is not a megalodon tuning database"},
      {"newer version",
       R"({"format": "megalodon-tuning-db", "version": 2, "entries": []})",
       "db.json: version: version 2 is not supported (expected 1)"},
      {"unknown field",
       R"({"format": "megalodon-tuning-db", "version": 1, "entries": [], "x": 1})",
       "db.json: unexpected field 'x'"},
      {"entry not an object", withEntry("3"),
       "db.json: entries[0]: is an integer, not an object"},
      {"missing field",
       withEntry(R"({"compiler": "c", "target": "t", "op": "o", "space": 1,
                     "sizes": {"lanes": 16}, "time_ns": 5})"),
       "db.json: entries[0]: missing field 'default_time_ns'"},
      {"empty op",
       withEntry(R"({"compiler": "c", "target": "t", "op": "", "space": 1,
                     "sizes": {"lanes": 16}, "time_ns": 5, "default_time_ns": 6})"),
       "db.json: entries[0].op: is empty or not valid UTF-8"},
      {"space zero",
       withEntry(R"({"compiler": "c", "target": "t", "op": "o", "space": 0,
                     "sizes": {"lanes": 16}, "time_ns": 5, "default_time_ns": 6})"),
       "db.json: entries[0].space: 0 is below 1"},
      {"negative time",
       withEntry(R"({"compiler": "c", "target": "t", "op": "o", "space": 1,
                     "sizes": {"lanes": 16}, "time_ns": -5, "default_time_ns": 6})"),
       "db.json: entries[0].time_ns: -5 is below 0"},
      {"size zero",
       withEntry(R"({"compiler": "c", "target": "t", "op": "o", "space": 1,
                     "sizes": {"lanes": 0}, "time_ns": 5, "default_time_ns": 6})"),
       "db.json: entries[0].sizes.lanes: is not a positive integer"},
      {"size not a name",
       withEntry(R"({"compiler": "c", "target": "t", "op": "o", "space": 1,
                     "sizes": {"La nes": 1}, "time_ns": 5, "default_time_ns": 6})"),
       "db.json: entries[0].sizes: 'La nes' is not a size name"},
      {"no sizes",
       withEntry(R"({"compiler": "c", "target": "t", "op": "o", "space": 1,
                     "sizes": {}, "time_ns": 5, "default_time_ns": 6})"),
       "db.json: entries[0].sizes: is empty"},
      {"fractional time",
       withEntry(R"({"compiler": "c", "target": "t", "op": "o", "space": 1,
                     "sizes": {"lanes": 1}, "time_ns": 5.5, "default_time_ns": 6})"),
       "db.json: invalid JSON"},
      {"repeated key", withEntry(std::string(kGoodEntry) + "," + kGoodEntry),
       "db.json: entries[1]: repeats the key of an earlier entry"},
  };
  for (const BadCase &c : cases) {
    TuningDatabase db;
    db.put(entry("left over", 1, 1));
    Status s = parse(c.text, db);
    EXPECT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.message().rfind(c.message, 0), 0u)
        << c.name << ": " << s.message();
    EXPECT_TRUE(db.entries.empty()) << c.name << ": output not cleared";
  }
  TuningDatabase good;
  EXPECT_TRUE(parse(withEntry(kGoodEntry), good).ok());
}

TEST(TuningDatabaseTest, EveryTruncationIsAnErrorNotACrash) {
  TuningDatabase db;
  db.put(entry("op", 1, 64));
  db.put(entry("op2", 2, 16));
  std::string text = serializeTuningDatabase(db);
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    TuningDatabase out;
    // A prefix that ends inside the document never parses; the trailing
    // newline alone may go.
    if (n + 1 < text.size() - 1)
      EXPECT_FALSE(parse(text.substr(0, n), out).ok()) << n;
  }
}

} // namespace
