//===- JsonFields.h - Field access and messages for JSON readers -*- C++
//-*-===//
//
// The helpers the runtime's JSON file readers (manifests, tuning databases)
// share: messages that name the file and the field ("entry_points[0].name"),
// and typed access to the fields of one object.
//
// Private to the runtime.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_JSONFIELDS_H
#define MEGALODON_RUNTIME_JSONFIELDS_H

#include "JsonReader.h"
#include "JsonText.h"

#include "megalodon/runtime/Status.h"

#include <initializer_list>
#include <string>

namespace megalodon::rt::json {

/// "origin: path: what", or "origin: what" for the root.
inline Status fieldError(const std::string &origin, const std::string &path,
                         const std::string &what) {
  if (path.empty())
    return Status::error(origin + ": " + what);
  return Status::error(origin + ": " + path + ": " + what);
}

inline std::string fieldPath(const std::string &parent, const char *field) {
  return parent.empty() ? field : parent + "." + field;
}

inline std::string indexPath(const std::string &parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

inline std::string quoted(const std::string &text) {
  return "'" + displayName(text) + "'";
}

/// Typed access to the fields of one JSON object at `path`; every accessor
/// reports a failure as a message naming the field.
class ObjectFields {
public:
  ObjectFields(const JsonValue &object, const std::string &origin,
               std::string path)
      : object(object), origin(origin), path(std::move(path)) {}

  /// Checks the value is an object that holds exactly `names`.
  Status checkShape(std::initializer_list<const char *> names) const {
    if (object.kind != JsonValue::Kind::Object)
      return fieldError(origin, path,
                        std::string("is ") + kindName(object.kind) +
                            ", not an object");
    for (const std::string &key : object.keys) {
      bool known = false;
      for (const char *name : names)
        known = known || key == name;
      if (!known)
        return fieldError(origin, path, "unexpected field " + quoted(key));
    }
    for (const char *name : names)
      if (!find(name))
        return fieldError(origin, path,
                          std::string("missing field '") + name + "'");
    return Status::success();
  }

  /// Null when the object has no such field.
  const JsonValue *find(const char *name) const {
    for (size_t i = 0; i < object.keys.size(); ++i)
      if (object.keys[i] == name)
        return &object.items[i];
    return nullptr;
  }

  Status get(const char *name, JsonValue::Kind kind,
             const JsonValue *&value) const {
    value = find(name);
    if (!value)
      return fieldError(origin, path,
                        std::string("missing field '") + name + "'");
    if (value->kind != kind)
      return fieldError(origin, fieldPath(path, name),
                        std::string("is ") + kindName(value->kind) + ", not " +
                            kindName(kind));
    return Status::success();
  }

  Status getString(const char *name, std::string &out) const {
    const JsonValue *value;
    if (Status s = get(name, JsonValue::Kind::String, value); !s)
      return s;
    out = value->string;
    return Status::success();
  }

  std::string pathOf(const char *name) const { return fieldPath(path, name); }

private:
  const JsonValue &object;
  const std::string &origin;
  std::string path;
};

} // namespace megalodon::rt::json

#endif // MEGALODON_RUNTIME_JSONFIELDS_H
