// Small RapidJSON helpers shared by every JSON-touching file.
#pragma once
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace lingmo::json {

inline std::string stringify(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

// Quotes and escapes `s` as a JSON string literal.
inline std::string quote(std::string_view s) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(sb.GetString(), sb.GetSize());
}

// Nesting deeper than this is refused before parsing: RapidJSON's parser, its writer and our own
// walkers recurse once per level, and a 400 KB body of "[[[[..." would otherwise exhaust an nginx
// worker's stack. Real requests (tool schemas, arguments) stay far below it.
inline constexpr int kMaxDepth = 256;

// Whether `text` nests arrays/objects at most `max_depth` deep (a linear scan that skips strings).
inline bool within_depth(std::string_view text, int max_depth = kMaxDepth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// Parses untrusted JSON into `d`; too deep a document is a parse error like any malformed one.
inline void parse(rapidjson::Document& d, const char* data, size_t len) {
  if (!within_depth(std::string_view(data, len))) {
    d.Parse("");  // leaves the document with a parse error (empty document)
    return;
  }
  d.Parse(data, len);
}

// A number as JSON text; whole numbers up to 10^15 print without exponent or decimals.
inline std::string number(double v) {
  if (!(v == v) || v > 1e300 || v < -1e300) return "null";  // NaN / infinity are not JSON
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

inline std::string get_string(const rapidjson::Value& obj, const char* key, std::string def = {}) {
  if (!obj.IsObject()) return def;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return def;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

inline long long get_int(const rapidjson::Value& obj, const char* key, long long def = 0) {
  if (!obj.IsObject()) return def;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsNumber()) return def;
  if (it->value.IsInt64()) return it->value.GetInt64();
  double d = it->value.GetDouble();
  // Outside [-2^63, 2^63) (e.g. 1e30) the cast would be undefined behaviour.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return def;
  return static_cast<long long>(d);
}

inline bool get_bool(const rapidjson::Value& obj, const char* key, bool def = false) {
  if (!obj.IsObject()) return def;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsBool()) return def;
  return it->value.GetBool();
}

}  // namespace lingmo::json
