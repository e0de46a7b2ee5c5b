//===- JsonText.h - JSON string output and message quoting ------*- C++ -*-===//
//
// Small helpers shared by the runtime's writers and readers, private to the
// runtime: escaping a string for JSON output, and rendering a string taken
// from a hostile file so that it fits in a one-line error message.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_JSONTEXT_H
#define MEGALODON_RUNTIME_JSONTEXT_H

#include <cstddef>
#include <cstdio>
#include <string>

namespace megalodon::rt::json {

/// Appends `text` as a quoted JSON string. Bytes from 0x80 up are copied
/// unchanged, so valid UTF-8 stays valid UTF-8.
inline void appendJsonString(std::string &out, const std::string &text) {
  out += '"';
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

/// Renders a name from a hostile file for a one-line message: control
/// characters are escaped and very long names are cut short.
inline std::string displayName(const std::string &name) {
  constexpr size_t kMaxShown = 80;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    unsigned char c = name[i];
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > kMaxShown)
    out += "...";
  return out;
}

} // namespace megalodon::rt::json

#endif // MEGALODON_RUNTIME_JSONTEXT_H
