//===- Manifest.cpp - Compiled artifact manifests ---------------*- C++ -*-===//
//
// Reading is two steps: the JSON tree is turned into a Manifest with every
// field's presence and type checked, then validateManifest applies the rules
// the writer enforces too. Sharing that second step means the writer cannot
// produce a manifest the reader rejects.
//
//===----------------------------------------------------------------------===//

#include "megalodon/runtime/Manifest.h"

#include "FileIO.h"
#include "JsonFields.h"
#include "JsonReader.h"
#include "JsonText.h"

#include <initializer_list>
#include <set>

namespace megalodon::rt {

using namespace json;

const char *tensorKindName(TensorKind kind) {
  switch (kind) {
  case TensorKind::Input:
    return "input";
  case TensorKind::Param:
    return "param";
  case TensorKind::State:
    return "state";
  case TensorKind::Output:
    return "output";
  }
  return "?";
}

bool parseTensorKind(const std::string &name, TensorKind &kind) {
  static const TensorKind all[] = {TensorKind::Input, TensorKind::Param,
                                   TensorKind::State, TensorKind::Output};
  for (TensorKind candidate : all) {
    if (name == tensorKindName(candidate)) {
      kind = candidate;
      return true;
    }
  }
  return false;
}

int64_t TensorSpec::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

const EntryPoint *Manifest::findEntryPoint(const std::string &name) const {
  for (const EntryPoint &entry : entryPoints)
    if (entry.name == name)
      return &entry;
  return nullptr;
}

namespace {

/// Manifests list every parameter of a model in one array, so arrays may be
/// far longer than in a safetensors header. The depth needed is 6 (root,
/// entry_points, entry, arguments, tensor, shape).
constexpr size_t kMaxListLength = 1u << 16;
constexpr JsonLimits kManifestLimits = {/*maxDepth=*/8,
                                        /*maxArrayLength=*/kMaxListLength};

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

bool isCIdentifier(const std::string &text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9'))
    return false;
  for (char c : text)
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return false;
  return true;
}

Status checkString(const std::string &text, const std::string &origin,
                   const std::string &path) {
  if (!isValidUtf8(text))
    return fieldError(origin, path, "is not valid UTF-8");
  return Status::success();
}

Status checkTensorList(const std::vector<TensorSpec> &specs, bool areResults,
                       const std::string &origin, const std::string &listPath) {
  if (specs.size() > kMaxListLength)
    return fieldError(origin, listPath,
                      std::to_string(specs.size()) +
                          " tensors exceed the limit of " +
                          std::to_string(kMaxListLength));
  std::set<std::string> names;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    std::string path = indexPath(listPath, i);
    std::string namePath = fieldPath(path, "name");
    if (spec.name.empty())
      return fieldError(origin, namePath, "is empty");
    if (Status s = checkString(spec.name, origin, namePath); !s)
      return s;
    if (!names.insert(spec.name).second)
      return fieldError(origin, namePath,
                        "duplicate name " + quoted(spec.name));
    if (!areResults && spec.kind == TensorKind::Output)
      return fieldError(origin, fieldPath(path, "kind"),
                        "an argument cannot be an output");
    if (areResults && spec.kind == TensorKind::Input)
      return fieldError(origin, fieldPath(path, "kind"),
                        "a result cannot be an input");
    std::string shapePath = fieldPath(path, "shape");
    if (spec.shape.size() > kMaxTensorRank)
      return fieldError(origin, shapePath,
                        "rank " + std::to_string(spec.shape.size()) +
                            " exceeds the limit of " +
                            std::to_string(kMaxTensorRank));
    int64_t count = 1;
    for (int64_t dim : spec.shape) {
      if (dim < 0)
        return fieldError(origin, shapePath,
                          "negative dimension " + std::to_string(dim));
      if (__builtin_mul_overflow(count, dim, &count))
        return fieldError(origin, shapePath,
                          "element count of " + shapeToString(spec.shape) +
                              " overflows");
    }
    int64_t bytes;
    if (__builtin_mul_overflow(
            count, static_cast<int64_t>(dtypeSize(spec.dtype)), &bytes))
      return fieldError(origin, shapePath,
                        "byte size of " + shapeToString(spec.shape) +
                            " overflows");
  }
  return Status::success();
}

} // namespace

Status validateManifest(const Manifest &manifest, const std::string &origin) {
  const std::string &library = manifest.library;
  if (library.empty())
    return fieldError(origin, "library", "is empty");
  if (Status s = checkString(library, origin, "library"); !s)
    return s;
  // The library is opened relative to the artifact directory; a path could
  // make a manifest load code from anywhere.
  if (library.find('/') != std::string::npos)
    return fieldError(origin, "library",
                      quoted(library) + " must be a file name without '/'");
  if (library == "." || library == "..")
    return fieldError(origin, "library", quoted(library) + " is not a file");
  if (library.find('\0') != std::string::npos)
    return fieldError(origin, "library", "contains a NUL character");
  if (Status s = checkString(manifest.key, origin, "key"); !s)
    return s;
  if (Status s = checkString(manifest.configJson, origin, "config"); !s)
    return s;

  if (manifest.entryPoints.empty())
    return fieldError(origin, "entry_points", "is empty");
  if (manifest.entryPoints.size() > kMaxListLength)
    return fieldError(origin, "entry_points",
                      std::to_string(manifest.entryPoints.size()) +
                          " entry points exceed the limit of " +
                          std::to_string(kMaxListLength));
  std::set<std::string> names;
  for (size_t i = 0; i < manifest.entryPoints.size(); ++i) {
    const EntryPoint &entry = manifest.entryPoints[i];
    std::string path = indexPath("entry_points", i);
    std::string namePath = fieldPath(path, "name");
    if (entry.name.empty())
      return fieldError(origin, namePath, "is empty");
    if (Status s = checkString(entry.name, origin, namePath); !s)
      return s;
    if (!names.insert(entry.name).second)
      return fieldError(origin, namePath,
                        "duplicate entry point " + quoted(entry.name));
    if (!isCIdentifier(entry.symbol))
      return fieldError(origin, fieldPath(path, "symbol"),
                        quoted(entry.symbol) + " is not a C identifier");
    if (Status s = checkTensorList(entry.arguments, /*areResults=*/false,
                                   origin, fieldPath(path, "arguments"));
        !s)
      return s;
    if (Status s = checkTensorList(entry.results, /*areResults=*/true, origin,
                                   fieldPath(path, "results"));
        !s)
      return s;
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

namespace {

Status parseTensorSpec(const JsonValue &value, const std::string &origin,
                       const std::string &path, TensorSpec &spec) {
  ObjectFields fields(value, origin, path);
  if (Status s = fields.checkShape({"name", "kind", "dtype", "shape"}); !s)
    return s;
  if (Status s = fields.getString("name", spec.name); !s)
    return s;

  std::string kind;
  if (Status s = fields.getString("kind", kind); !s)
    return s;
  if (!parseTensorKind(kind, spec.kind))
    return fieldError(origin, fields.pathOf("kind"),
                      "unknown kind " + quoted(kind) +
                          " (expected input, param, state or output)");

  std::string dtype;
  if (Status s = fields.getString("dtype", dtype); !s)
    return s;
  if (!parseDType(dtype, spec.dtype))
    return fieldError(origin, fields.pathOf("dtype"),
                      "unsupported dtype " + quoted(dtype) +
                          " (expected F32, BF16, F64, I32 or I64)");

  const JsonValue *shape;
  if (Status s = fields.get("shape", JsonValue::Kind::Array, shape); !s)
    return s;
  for (size_t i = 0; i < shape->items.size(); ++i) {
    const JsonValue &dim = shape->items[i];
    if (dim.kind != JsonValue::Kind::Integer)
      return fieldError(origin, indexPath(fields.pathOf("shape"), i),
                        std::string("is ") + kindName(dim.kind) +
                            ", not an integer");
    spec.shape.push_back(dim.integer);
  }
  return Status::success();
}

Status parseTensorList(const ObjectFields &fields, const char *name,
                       const std::string &origin,
                       std::vector<TensorSpec> &specs) {
  const JsonValue *list;
  if (Status s = fields.get(name, JsonValue::Kind::Array, list); !s)
    return s;
  specs.resize(list->items.size());
  for (size_t i = 0; i < specs.size(); ++i)
    if (Status s = parseTensorSpec(list->items[i], origin,
                                   indexPath(fields.pathOf(name), i), specs[i]);
        !s)
      return s;
  return Status::success();
}

Status parseEntryPoint(const JsonValue &value, const std::string &origin,
                       const std::string &path, EntryPoint &entry) {
  ObjectFields fields(value, origin, path);
  if (Status s = fields.checkShape({"name", "symbol", "arguments", "results"});
      !s)
    return s;
  if (Status s = fields.getString("name", entry.name); !s)
    return s;
  if (Status s = fields.getString("symbol", entry.symbol); !s)
    return s;
  if (Status s = parseTensorList(fields, "arguments", origin, entry.arguments);
      !s)
    return s;
  return parseTensorList(fields, "results", origin, entry.results);
}

Status parseRoot(const JsonValue &root, const std::string &origin,
                 Manifest &manifest) {
  ObjectFields fields(root, origin, "");
  if (root.kind != JsonValue::Kind::Object)
    return fieldError(origin, "",
                      std::string("manifest is ") + kindName(root.kind) +
                          ", not a JSON object");
  // Format and version come first: a file of another kind or version should
  // say so, not fail on the first field it does not share with version 1.
  std::string format;
  if (Status s = fields.getString("format", format); !s)
    return s;
  if (format != kManifestFormat)
    return fieldError(origin, "format",
                      quoted(format) + " is not '" + kManifestFormat + "'");
  const JsonValue *version;
  if (Status s = fields.get("version", JsonValue::Kind::Integer, version); !s)
    return s;
  if (version->integer != kManifestVersion)
    return fieldError(origin, "version",
                      "unsupported manifest version " +
                          std::to_string(version->integer) +
                          " (this runtime reads version " +
                          std::to_string(kManifestVersion) + ")");

  // "backend" is optional: manifests without it are CPU artifacts.
  bool hasBackend = fields.find("backend") != nullptr;
  if (Status s = hasBackend ? fields.checkShape({"format", "version", "library",
                                                 "key", "config", "backend",
                                                 "entry_points"})
                            : fields.checkShape({"format", "version", "library",
                                                 "key", "config",
                                                 "entry_points"});
      !s)
    return s;
  if (hasBackend) {
    if (Status s = fields.getString("backend", manifest.backend); !s)
      return s;
    if (manifest.backend != "cpu" && manifest.backend != "cuda")
      return fieldError(origin, "backend",
                        quoted(manifest.backend) +
                            " is not a backend (cpu, cuda)");
  }
  if (Status s = fields.getString("library", manifest.library); !s)
    return s;
  if (Status s = fields.getString("key", manifest.key); !s)
    return s;
  if (Status s = fields.getString("config", manifest.configJson); !s)
    return s;
  const JsonValue *entries;
  if (Status s = fields.get("entry_points", JsonValue::Kind::Array, entries);
      !s)
    return s;
  manifest.entryPoints.resize(entries->items.size());
  for (size_t i = 0; i < entries->items.size(); ++i)
    if (Status s = parseEntryPoint(entries->items[i], origin,
                                   indexPath("entry_points", i),
                                   manifest.entryPoints[i]);
        !s)
      return s;
  return Status::success();
}

} // namespace

Status parseManifest(const uint8_t *data, size_t size,
                     const std::string &origin, Manifest &out) {
  out = Manifest();
  if (size > kMaxManifestSize)
    return Status::error(origin + ": size " + std::to_string(size) +
                         " bytes exceeds the limit of " +
                         std::to_string(kMaxManifestSize) +
                         " bytes for a manifest");
  JsonValue root;
  JsonReader reader(data, size, kManifestLimits);
  if (!reader.parseDocument(root))
    return Status::error(origin + ": invalid JSON: " + reader.error());
  Manifest manifest;
  if (Status s = parseRoot(root, origin, manifest); !s)
    return s;
  if (Status s = validateManifest(manifest, origin); !s)
    return s;
  out = std::move(manifest);
  return Status::success();
}

Status readManifest(const std::string &path, Manifest &out) {
  out = Manifest();
  std::string text;
  if (Status s = readSmallFile(path, kMaxManifestSize, "a manifest", text); !s)
    return s;
  return parseManifest(reinterpret_cast<const uint8_t *>(text.data()),
                       text.size(), path, out);
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

namespace {

void appendTensorList(std::string &out, const char *field,
                      const std::vector<TensorSpec> &specs) {
  out += "      \"";
  out += field;
  out += "\": [";
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    out += i ? ",\n        {\"name\": " : "\n        {\"name\": ";
    appendJsonString(out, spec.name);
    out += ", \"kind\": \"";
    out += tensorKindName(spec.kind);
    out += "\", \"dtype\": \"";
    out += dtypeName(spec.dtype);
    out += "\", \"shape\": [";
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      if (d)
        out += ", ";
      out += std::to_string(spec.shape[d]);
    }
    out += "]}";
  }
  out += specs.empty() ? "]" : "\n      ]";
}

} // namespace

std::string serializeManifest(const Manifest &manifest) {
  std::string out = "{\n  \"format\": ";
  appendJsonString(out, kManifestFormat);
  out += ",\n  \"version\": " + std::to_string(kManifestVersion);
  out += ",\n  \"library\": ";
  appendJsonString(out, manifest.library);
  out += ",\n  \"key\": ";
  appendJsonString(out, manifest.key);
  out += ",\n  \"config\": ";
  appendJsonString(out, manifest.configJson);
  if (manifest.backend != "cpu") {
    out += ",\n  \"backend\": ";
    appendJsonString(out, manifest.backend);
  }
  out += ",\n  \"entry_points\": [";
  for (size_t i = 0; i < manifest.entryPoints.size(); ++i) {
    const EntryPoint &entry = manifest.entryPoints[i];
    out += i ? ",\n    {\n      \"name\": " : "\n    {\n      \"name\": ";
    appendJsonString(out, entry.name);
    out += ",\n      \"symbol\": ";
    appendJsonString(out, entry.symbol);
    out += ",\n";
    appendTensorList(out, "arguments", entry.arguments);
    out += ",\n";
    appendTensorList(out, "results", entry.results);
    out += "\n    }";
  }
  out += manifest.entryPoints.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

Status writeManifest(const std::string &path, const Manifest &manifest) {
  if (Status s = validateManifest(manifest, path); !s)
    return s;
  std::string text = serializeManifest(manifest);
  if (text.size() > kMaxManifestSize)
    return Status::error(path + ": manifest of " + std::to_string(text.size()) +
                         " bytes exceeds the limit of " +
                         std::to_string(kMaxManifestSize) + " bytes");
  return writeFileAtomically(path, {{text.data(), text.size()}});
}

} // namespace megalodon::rt
