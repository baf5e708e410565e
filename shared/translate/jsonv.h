// Terse RapidJSON helpers for the translators: reading optional members and building values.
#pragma once
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/json.h"

namespace lingmo::translate::jv {

using Value = rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// The member `key` of `o`, or nullptr when `o` is not an object or lacks it (null counts as absent).
inline const Value* get(const Value& o, const char* key) {
  if (!o.IsObject()) return nullptr;
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

inline std::string_view sv(const Value* v) {
  return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength()) : std::string_view();
}
inline std::string_view sv(const Value& o, const char* key) { return sv(get(o, key)); }

// (An empty string_view may have a null data(): RapidJSON asserts on null even for length 0.)
inline int64_t int_or(const Value& o, const char* key, int64_t def) {
  const Value* v = get(o, key);
  return v && v->IsInt64() ? v->GetInt64() : def;
}

inline Value str(std::string_view s, Alloc& a) {
  return Value(s.empty() ? "" : s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

inline void add(Value& obj, const char* key, Value v, Alloc& a) {
  obj.AddMember(Value(key, a), v, a);  // key copied: callers pass literals and temporaries alike
}
inline void add(Value& obj, const char* key, std::string_view s, Alloc& a) { add(obj, key, str(s, a), a); }

inline void write(Writer& w, std::string_view s) {
  w.String(s.empty() ? "" : s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Runs `f` on a fresh writer and returns the JSON it wrote.
template <class F>
std::string json_of(F&& f) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  f(w);
  return std::string(sb.GetString(), sb.GetSize());
}

inline std::string stringify(const Value& v) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

// Concatenated text of an Anthropic/Responses content value: a string, or an array of blocks
// with "text" members (other blocks skipped), joined with `sep`.
inline std::string text_of(const Value& content, std::string_view sep = "\n\n") {
  if (content.IsString()) return std::string(content.GetString(), content.GetStringLength());
  std::string out;
  if (!content.IsArray()) return out;
  for (const auto& b : content.GetArray()) {
    std::string_view t = b.IsString() ? std::string_view(b.GetString(), b.GetStringLength()) : sv(b, "text");
    if (t.empty()) continue;
    if (!out.empty()) out += sep;
    out += t;
  }
  return out;
}

}  // namespace lingmo::translate::jv
