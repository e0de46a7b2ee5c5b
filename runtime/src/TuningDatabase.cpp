//===- TuningDatabase.cpp - Persisted autotuning results ------------------===//

#include "megalodon/runtime/TuningDatabase.h"

#include "FileIO.h"
#include "JsonFields.h"
#include "JsonReader.h"
#include "JsonText.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <sys/stat.h>
#include <tuple>

namespace megalodon::rt {

using namespace json;

bool TuningKey::operator==(const TuningKey &other) const {
  return std::tie(compiler, target, op, space) ==
         std::tie(other.compiler, other.target, other.op, other.space);
}

bool TuningKey::operator<(const TuningKey &other) const {
  return std::tie(compiler, target, op, space) <
         std::tie(other.compiler, other.target, other.op, other.space);
}

const TuningEntry *TuningDatabase::find(const TuningKey &key) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const TuningEntry &entry, const TuningKey &k) {
                               return entry.key < k;
                             });
  return it != entries.end() && it->key == key ? &*it : nullptr;
}

void TuningDatabase::put(TuningEntry entry) {
  auto it = std::lower_bound(
      entries.begin(), entries.end(), entry.key,
      [](const TuningEntry &e, const TuningKey &k) { return e.key < k; });
  if (it != entries.end() && it->key == entry.key)
    *it = std::move(entry);
  else
    entries.insert(it, std::move(entry));
}

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

namespace {

/// root -> entries -> entry -> sizes.
constexpr JsonLimits kTuningLimits = {/*maxDepth=*/4,
                                      /*maxArrayLength=*/1u << 20};

bool isSizeName(const std::string &name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return false;
  return true;
}

Status getInteger(const ObjectFields &fields, const std::string &origin,
                  const char *name, int64_t min, int64_t &out) {
  const JsonValue *value;
  if (Status s = fields.get(name, JsonValue::Kind::Integer, value); !s)
    return s;
  if (value->integer < min)
    return fieldError(origin, fields.pathOf(name),
                      std::to_string(value->integer) + " is below " +
                          std::to_string(min));
  out = value->integer;
  return Status::success();
}

Status parseEntry(const JsonValue &value, const std::string &origin,
                  const std::string &path, TuningEntry &entry) {
  ObjectFields fields(value, origin, path);
  if (Status s = fields.checkShape({"compiler", "target", "op", "space",
                                    "sizes", "time_ns", "default_time_ns"});
      !s)
    return s;
  for (auto [name, field] :
       {std::pair<const char *, std::string *>{"compiler", &entry.key.compiler},
        {"target", &entry.key.target},
        {"op", &entry.key.op}}) {
    if (Status s = fields.getString(name, *field); !s)
      return s;
    if (field->empty() || !isValidUtf8(*field))
      return fieldError(origin, fields.pathOf(name),
                        "is empty or not valid UTF-8");
  }
  if (Status s = getInteger(fields, origin, "space", 1, entry.key.space); !s)
    return s;
  if (Status s = getInteger(fields, origin, "time_ns", 0, entry.timeNs); !s)
    return s;
  if (Status s =
          getInteger(fields, origin, "default_time_ns", 0, entry.defaultTimeNs);
      !s)
    return s;

  const JsonValue *sizes;
  if (Status s = fields.get("sizes", JsonValue::Kind::Object, sizes); !s)
    return s;
  std::string sizesPath = fields.pathOf("sizes");
  if (sizes->keys.empty())
    return fieldError(origin, sizesPath, "is empty");
  for (size_t i = 0; i < sizes->keys.size(); ++i) {
    const std::string &name = sizes->keys[i];
    const JsonValue &size = sizes->items[i];
    if (!isSizeName(name))
      return fieldError(origin, sizesPath,
                        quoted(name) + " is not a size name");
    if (size.kind != JsonValue::Kind::Integer || size.integer < 1)
      return fieldError(origin, fieldPath(sizesPath, name.c_str()),
                        "is not a positive integer");
    entry.sizes.emplace_back(name, size.integer);
  }
  std::sort(entry.sizes.begin(), entry.sizes.end());
  return Status::success();
}

} // namespace

Status parseTuningDatabase(const uint8_t *data, size_t size,
                           const std::string &origin, TuningDatabase &out) {
  out = TuningDatabase();
  if (size > kMaxTuningDatabaseSize)
    return Status::error(origin + ": size " + std::to_string(size) +
                         " bytes exceeds the limit of " +
                         std::to_string(kMaxTuningDatabaseSize) +
                         " bytes for a tuning database");
  JsonValue root;
  JsonReader reader(data, size, kTuningLimits);
  if (!reader.parseDocument(root))
    return Status::error(origin + ": invalid JSON: " + reader.error());
  ObjectFields fields(root, origin, "");
  if (Status s = fields.checkShape({"format", "version", "entries"}); !s)
    return s;
  std::string format;
  if (Status s = fields.getString("format", format); !s)
    return s;
  if (format != kTuningDatabaseFormat)
    return fieldError(origin, "format",
                      quoted(format) + " is not a megalodon tuning database");
  const JsonValue *version;
  if (Status s = fields.get("version", JsonValue::Kind::Integer, version); !s)
    return s;
  if (version->integer != kTuningDatabaseVersion)
    return fieldError(origin, "version",
                      "version " + std::to_string(version->integer) +
                          " is not supported (expected " +
                          std::to_string(kTuningDatabaseVersion) + ")");
  const JsonValue *entries;
  if (Status s = fields.get("entries", JsonValue::Kind::Array, entries); !s)
    return s;

  TuningDatabase database;
  std::vector<TuningEntry> parsed;
  for (size_t i = 0; i < entries->items.size(); ++i) {
    TuningEntry entry;
    std::string path = indexPath("entries", i);
    if (Status s = parseEntry(entries->items[i], origin, path, entry); !s)
      return s;
    if (database.find(entry.key))
      return fieldError(origin, path, "repeats the key of an earlier entry");
    database.put(std::move(entry));
  }
  out = std::move(database);
  return Status::success();
}

Status readTuningDatabase(const std::string &path, TuningDatabase &out) {
  out = TuningDatabase();
  struct stat info;
  if (::stat(path.c_str(), &info) != 0 && errno == ENOENT)
    return Status::success();
  std::string text;
  if (Status s = readSmallFile(path, kMaxTuningDatabaseSize,
                               "a tuning database", text);
      !s)
    return s;
  return parseTuningDatabase(reinterpret_cast<const uint8_t *>(text.data()),
                             text.size(), path, out);
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

std::string serializeTuningDatabase(const TuningDatabase &database) {
  std::string out = "{\n  \"format\": ";
  appendJsonString(out, kTuningDatabaseFormat);
  out += ",\n  \"version\": " + std::to_string(kTuningDatabaseVersion);
  out += ",\n  \"entries\": [";
  for (size_t i = 0; i < database.entries.size(); ++i) {
    const TuningEntry &entry = database.entries[i];
    out += i ? ",\n    {\"compiler\": " : "\n    {\"compiler\": ";
    appendJsonString(out, entry.key.compiler);
    out += ",\n     \"target\": ";
    appendJsonString(out, entry.key.target);
    out += ",\n     \"op\": ";
    appendJsonString(out, entry.key.op);
    out += ",\n     \"space\": " + std::to_string(entry.key.space);
    out += ",\n     \"sizes\": {";
    for (size_t j = 0; j < entry.sizes.size(); ++j) {
      if (j)
        out += ", ";
      appendJsonString(out, entry.sizes[j].first);
      out += ": " + std::to_string(entry.sizes[j].second);
    }
    out += "},\n     \"time_ns\": " + std::to_string(entry.timeNs);
    out += ", \"default_time_ns\": " + std::to_string(entry.defaultTimeNs);
    out += "}";
  }
  out += database.entries.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

Status writeTuningDatabase(const std::string &path,
                           const TuningDatabase &database) {
  // Missing parent directories, one level at a time.
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::error(
          dir + ": cannot create directory: " + std::strerror(errno));
  }
  std::string text = serializeTuningDatabase(database);
  return writeFileAtomically(path, {{text.data(), text.size()}});
}

} // namespace megalodon::rt
