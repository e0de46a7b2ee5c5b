//===- JsonReader.h - Strict JSON reader for headers ------------*- C++ -*-===//
//
// A small strict JSON reader for safetensors headers and artifact manifests,
// private to the runtime. It accepts exactly what such a document can hold
// (objects, arrays, strings and integers, plus the JSON literals so that they
// fail with a schema message rather than a syntax one) and rejects fractions
// and exponents, duplicate keys, invalid UTF-8 and trailing characters. Nesting
// depth and array length are bounded, so a hostile document cannot recurse
// deeply, and the memory the parsed tree takes stays proportional to the
// document size (which the caller caps).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_JSONREADER_H
#define MEGALODON_RUNTIME_JSONREADER_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace megalodon::rt::json {

/// Deep enough for a header (object -> tensor -> shape) with room to spare.
inline constexpr unsigned kMaxJsonDepth = 8;
/// The longest array a header holds is a shape; no tensor has more dims.
inline constexpr size_t kMaxJsonArrayLength = 64;

/// Structural bounds; the defaults suit safetensors headers, other formats
/// pass their own.
struct JsonLimits {
  unsigned maxDepth = kMaxJsonDepth;
  size_t maxArrayLength = kMaxJsonArrayLength;
};

/// One JSON value. Objects keep their keys in `keys` and the values at the
/// same positions in `items`.
struct JsonValue {
  enum class Kind { Null, Bool, Integer, String, Array, Object };
  Kind kind = Kind::Null;
  int64_t integer = 0;
  std::string string;
  std::vector<std::string> keys;
  std::vector<JsonValue> items;
};

/// "an integer" style rendering for error messages.
inline const char *kindName(JsonValue::Kind kind) {
  switch (kind) {
  case JsonValue::Kind::Null:
    return "null";
  case JsonValue::Kind::Bool:
    return "a boolean";
  case JsonValue::Kind::Integer:
    return "an integer";
  case JsonValue::Kind::String:
    return "a string";
  case JsonValue::Kind::Array:
    return "an array";
  case JsonValue::Kind::Object:
    return "an object";
  }
  return "?";
}

/// Checks the UTF-8 sequence starting at `cur` (first byte >= 0x80, before
/// `end`) and returns its length, or 0 when it is malformed, overlong, a
/// surrogate or beyond U+10FFFF. JSON text must be valid UTF-8.
inline size_t utf8SequenceLength(const uint8_t *cur, const uint8_t *end) {
  uint8_t lead = *cur;
  size_t length;
  uint32_t code, min;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, code = lead & 0x1f, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, code = lead & 0x0f, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, code = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - cur) < length)
    return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((cur[i] & 0xc0) != 0x80)
      return 0;
    code = (code << 6) | (cur[i] & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
    return 0;
  return length;
}

/// True when `text` is valid UTF-8, i.e. when a JSON string holding it can be
/// read back.
inline bool isValidUtf8(const std::string &text) {
  const uint8_t *cur = reinterpret_cast<const uint8_t *>(text.data());
  const uint8_t *end = cur + text.size();
  while (cur != end) {
    if (*cur < 0x80) {
      ++cur;
      continue;
    }
    size_t length = utf8SequenceLength(cur, end);
    if (!length)
      return false;
    cur += length;
  }
  return true;
}

/// Parses one JSON document from a byte range it does not own.
class JsonReader {
public:
  JsonReader(const uint8_t *data, size_t size, JsonLimits limits = {})
      : begin(data), cur(data), end(data + size), limits(limits) {}

  /// Parses one value followed only by whitespace. On failure returns false
  /// and error() says what went wrong and at which byte.
  bool parseDocument(JsonValue &out) {
    skipWhitespace();
    if (!parseValue(out, 0))
      return false;
    skipWhitespace();
    if (cur != end)
      return fail("trailing characters after the JSON value");
    return true;
  }

  const std::string &error() const { return err; }

private:
  bool fail(const std::string &why) {
    err = why + " at byte " + std::to_string(cur - begin);
    return false;
  }

  void skipWhitespace() {
    while (cur != end &&
           (*cur == ' ' || *cur == '\t' || *cur == '\n' || *cur == '\r'))
      ++cur;
  }

  bool parseValue(JsonValue &out, unsigned depth) {
    if (cur == end)
      return fail("unexpected end of input");
    switch (*cur) {
    case '{':
      return parseObject(out, depth + 1);
    case '[':
      return parseArray(out, depth + 1);
    case '"':
      out.kind = JsonValue::Kind::String;
      return parseString(out.string);
    case 't':
      out.kind = JsonValue::Kind::Bool;
      return parseLiteral("true");
    case 'f':
      out.kind = JsonValue::Kind::Bool;
      return parseLiteral("false");
    case 'n':
      out.kind = JsonValue::Kind::Null;
      return parseLiteral("null");
    default:
      if (*cur == '-' || (*cur >= '0' && *cur <= '9'))
        return parseInteger(out);
      return fail("unexpected character");
    }
  }

  bool parseLiteral(const char *word) {
    size_t length = std::strlen(word);
    if (static_cast<size_t>(end - cur) < length ||
        std::memcmp(cur, word, length) != 0)
      return fail("unexpected character");
    cur += length;
    return true;
  }

  bool parseObject(JsonValue &out, unsigned depth) {
    if (depth > limits.maxDepth)
      return fail("nesting deeper than " + std::to_string(limits.maxDepth));
    out.kind = JsonValue::Kind::Object;
    ++cur; // '{'
    skipWhitespace();
    if (cur != end && *cur == '}') {
      ++cur;
      return true;
    }
    // A set makes duplicate detection O(n log n) even for huge headers.
    std::set<std::string> seen;
    while (true) {
      skipWhitespace();
      if (cur == end || *cur != '"')
        return fail("expected a string key");
      const uint8_t *keyStart = cur;
      std::string key;
      if (!parseString(key))
        return false;
      if (!seen.insert(key).second) {
        cur = keyStart;
        return fail("duplicate key '" + key + "'");
      }
      skipWhitespace();
      if (cur == end || *cur != ':')
        return fail("expected ':'");
      ++cur;
      skipWhitespace();
      out.keys.push_back(std::move(key));
      out.items.emplace_back();
      if (!parseValue(out.items.back(), depth))
        return false;
      skipWhitespace();
      if (cur != end && *cur == ',') {
        ++cur;
        continue;
      }
      if (cur != end && *cur == '}') {
        ++cur;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(JsonValue &out, unsigned depth) {
    if (depth > limits.maxDepth)
      return fail("nesting deeper than " + std::to_string(limits.maxDepth));
    out.kind = JsonValue::Kind::Array;
    ++cur; // '['
    skipWhitespace();
    if (cur != end && *cur == ']') {
      ++cur;
      return true;
    }
    while (true) {
      if (out.items.size() == limits.maxArrayLength)
        return fail("array longer than " +
                    std::to_string(limits.maxArrayLength) + " elements");
      skipWhitespace();
      out.items.emplace_back();
      if (!parseValue(out.items.back(), depth))
        return false;
      skipWhitespace();
      if (cur != end && *cur == ',') {
        ++cur;
        continue;
      }
      if (cur != end && *cur == ']') {
        ++cur;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  /// Integers only: a header never needs a fraction or exponent, and
  /// accepting them would let "2.5" or "1e3" pass as a dimension.
  bool parseInteger(JsonValue &out) {
    bool negative = *cur == '-';
    if (negative)
      ++cur;
    if (cur == end || *cur < '0' || *cur > '9')
      return fail("expected a digit");
    if (*cur == '0' && cur + 1 != end && cur[1] >= '0' && cur[1] <= '9')
      return fail("leading zero in number");
    // Accumulate the magnitude unsigned so that INT64_MIN is representable.
    uint64_t limit = negative ? uint64_t(1) << 63 : (uint64_t(1) << 63) - 1;
    uint64_t magnitude = 0;
    while (cur != end && *cur >= '0' && *cur <= '9') {
      uint64_t digit = *cur - '0';
      if (magnitude > (limit - digit) / 10)
        return fail("integer out of range");
      magnitude = magnitude * 10 + digit;
      ++cur;
    }
    if (cur != end && (*cur == '.' || *cur == 'e' || *cur == 'E'))
      return fail("floating-point numbers are not allowed");
    out.kind = JsonValue::Kind::Integer;
    out.integer = negative ? static_cast<int64_t>(0 - magnitude)
                           : static_cast<int64_t>(magnitude);
    return true;
  }

  bool parseHex4(uint32_t &value) {
    if (end - cur < 4)
      return fail("truncated \\u escape");
    value = 0;
    for (int i = 0; i < 4; ++i, ++cur) {
      uint8_t c = *cur;
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return fail("invalid hex digit in \\u escape");
      value = value * 16 + digit;
    }
    return true;
  }

  /// Parses the \uXXXX escape at `cur` (after the backslash and 'u'),
  /// joining surrogate pairs, and appends the code point as UTF-8.
  bool parseUnicodeEscape(std::string &out) {
    uint32_t code = 0;
    if (!parseHex4(code))
      return false;
    if (code >= 0xdc00 && code <= 0xdfff)
      return fail("unpaired low surrogate in \\u escape");
    if (code >= 0xd800 && code <= 0xdbff) {
      uint32_t low = 0;
      if (end - cur < 2 || cur[0] != '\\' || cur[1] != 'u')
        return fail("unpaired high surrogate in \\u escape");
      cur += 2;
      if (!parseHex4(low))
        return false;
      if (low < 0xdc00 || low > 0xdfff)
        return fail("unpaired high surrogate in \\u escape");
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    appendUtf8(out, code);
    return true;
  }

  static void appendUtf8(std::string &out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  bool parseString(std::string &out) {
    ++cur; // opening quote
    while (true) {
      if (cur == end)
        return fail("unterminated string");
      uint8_t c = *cur;
      if (c == '"') {
        ++cur;
        return true;
      }
      if (c < 0x20)
        return fail("control character in string");
      if (c >= 0x80) {
        size_t length = utf8SequenceLength(cur, end);
        if (!length)
          return fail("invalid UTF-8 in string");
        out.append(reinterpret_cast<const char *>(cur), length);
        cur += length;
        continue;
      }
      ++cur;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (cur == end)
        return fail("unterminated string");
      uint8_t escape = *cur++;
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += static_cast<char>(escape);
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u':
        if (!parseUnicodeEscape(out))
          return false;
        break;
      default:
        --cur;
        return fail("invalid escape in string");
      }
    }
  }

  const uint8_t *begin;
  const uint8_t *cur;
  const uint8_t *end;
  JsonLimits limits;
  std::string err;
};

} // namespace megalodon::rt::json

#endif // MEGALODON_RUNTIME_JSONREADER_H
