// A local estimate of a Messages request's input tokens, for /v1/messages/count_tokens when the
// request would not go to an Anthropic vendor (which counts itself). Claude Code uses the count
// to decide when to compact its context, so it must track the real size: a constant or zero
// would let a conversation grow past the vendor's window. Heuristic: ~4 ASCII characters per
// token, one token per CJK character, two other non-ASCII characters per token, a flat cost per
// image and per message.
#include "translate/api.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

constexpr double kPerImage = 1600;  // Anthropic's estimate for a ~1.15 megapixel image
constexpr double kPerMessage = 3;

double text_tokens(std::string_view s) {
  double t = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      t += 0.25;
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    uint32_t cp = 0;
    if (len == 3 && i + 2 < s.size())
      cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    bool cjk = (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0xF900 && cp <= 0xFAFF);
    t += cjk ? 1.0 : 0.5;
    i += len;
  }
  return t;
}

double value_tokens(const rapidjson::Value& v) {
  if (v.IsString()) return text_tokens(jv::sv(&v));
  double t = 0;
  if (v.IsArray()) {
    for (const auto& x : v.GetArray()) t += value_tokens(x);
  } else if (v.IsObject()) {
    if (jv::sv(v, "type") == "image") return kPerImage;
    for (const auto& m : v.GetObject()) {
      std::string_view k(m.name.GetString(), m.name.GetStringLength());
      if (k == "cache_control" || k == "signature" || k == "type" || k == "id" || k == "tool_use_id") continue;
      t += value_tokens(m.value);
      if (m.value.IsObject() || k == "input") t += text_tokens(k);
    }
  } else if (v.IsNumber() || v.IsBool()) {
    t += 1;
  }
  return t;
}

}  // namespace

int64_t estimate_input_tokens(const ClientRequest& req) {
  const auto& d = req.doc;
  double t = 0;
  if (const auto* s = jv::get(d, "system")) t += value_tokens(*s);
  if (const auto* msgs = jv::get(d, "messages"); msgs && msgs->IsArray())
    for (const auto& m : msgs->GetArray()) {
      t += kPerMessage;
      if (const auto* c = jv::get(m, "content")) t += value_tokens(*c);
    }
  if (const auto* tools = jv::get(d, "tools"); tools && tools->IsArray())
    for (const auto& tool : tools->GetArray()) t += text_tokens(jv::stringify(tool)) + 10;
  return static_cast<int64_t>(t + 0.5) + 1;
}

}  // namespace lingmo::translate
