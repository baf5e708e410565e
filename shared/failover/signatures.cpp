#include "failover/signatures.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "util/duration.h"
#include "util/json.h"

namespace lingmo::failover {

extern const char* const kBuiltinErrorSignatures;  // generated from vendors/error_signatures.json

namespace {

constexpr const char* kFields[] = {"type", "code", "message", "google_status", "reason", "detail_code", "quota_id"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string scalar(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  return {};
}

void read_error_object(const rapidjson::Value& e, ErrorFields& f) {
  if (!e.IsObject()) return;
  auto get = [&](const char* k) {
    auto it = e.FindMember(k);
    return it == e.MemberEnd() ? std::string() : scalar(it->value);
  };
  if (f.type.empty()) f.type = get("type");
  if (f.code.empty()) f.code = get("code");
  if (f.message.empty()) f.message = get("message");
  if (auto it = e.FindMember("status"); it != e.MemberEnd() && it->value.IsString()) f.google_status = it->value.GetString();
  if (auto d = e.FindMember("details"); d != e.MemberEnd()) {
    if (d->value.IsObject()) f.detail_code = json::get_string(d->value, "error_code");  // Anthropic
    if (d->value.IsArray()) {  // google.rpc details
      for (const auto& item : d->value.GetArray()) {
        if (!item.IsObject()) continue;
        std::string t = json::get_string(item, "@type");
        if (t.find("QuotaFailure") != std::string::npos) {
          if (auto v = item.FindMember("violations"); v != item.MemberEnd() && v->value.IsArray())
            for (const auto& q : v->value.GetArray()) f.quota_ids.push_back(json::get_string(q, "quotaId"));
        } else if (t.find("RetryInfo") != std::string::npos) {
          if (auto ms = duration::parse_go(json::get_string(item, "retryDelay"))) f.retry_delay_ms = *ms;
        } else if (t.find("ErrorInfo") != std::string::npos) {
          f.reason = json::get_string(item, "reason");
        }
      }
    }
  }
}

bool field_matches(const std::string& field, const std::vector<std::string>& alts, const ErrorFields& f) {
  auto any = [&](const std::string& value, bool substring) {
    std::string v = lower(value);
    for (const auto& a : alts)
      if (substring ? v.find(a) != std::string::npos : v == a) return true;
    return false;
  };
  if (field == "type") return any(f.type, false);
  if (field == "code") return any(f.code, false);
  if (field == "message") return any(f.message, true);
  if (field == "google_status") return any(f.google_status, false);
  if (field == "reason") return any(f.reason, false);
  if (field == "detail_code") return any(f.detail_code, false);
  if (field == "quota_id") {
    for (const auto& q : f.quota_ids)
      if (any(q, true)) return true;
    return false;
  }
  return false;
}

Result<ErrorClass> parse_class(const std::string& s) {
  if (s == "auth") return ErrorClass::kAuth;
  if (s == "quota") return ErrorClass::kQuota;
  if (s == "rate_limited") return ErrorClass::kRateLimited;
  if (s == "overloaded") return ErrorClass::kOverloaded;
  if (s == "not_found") return ErrorClass::kNotFound;
  if (s == "client") return ErrorClass::kClient;
  return Result<ErrorClass>::fail("unknown class \"" + s + "\"");
}

ErrorClass by_status(long status) {
  if (status == 401 || status == 403) return ErrorClass::kAuth;
  if (status == 402) return ErrorClass::kQuota;
  if (status == 429) return ErrorClass::kRateLimited;
  if (status == 404) return ErrorClass::kNotFound;
  if (status == 408 || status >= 500) return ErrorClass::kOverloaded;
  return ErrorClass::kClient;
}

}  // namespace

const char* class_name(ErrorClass c) {
  switch (c) {
    case ErrorClass::kAuth: return "auth";
    case ErrorClass::kQuota: return "quota";
    case ErrorClass::kRateLimited: return "rate_limited";
    case ErrorClass::kOverloaded: return "overloaded";
    case ErrorClass::kNotFound: return "not_found";
    case ErrorClass::kClient: return "client";
  }
  return "client";
}

ErrorFields extract_fields(std::string_view body) {
  ErrorFields f;
  rapidjson::Document d;
  json::parse(d, body.data(), body.size());
  if (d.HasParseError()) {
    f.message = std::string(body.substr(0, 300));  // plain-text errors still carry words to match
    return f;
  }
  const rapidjson::Value* root = &d;
  if (d.IsArray() && !d.Empty()) root = &d[0];  // Gemini's OpenAI endpoint wraps errors in [ ]
  if (!root->IsObject()) return f;
  if (auto e = root->FindMember("error"); e != root->MemberEnd()) {
    if (e->value.IsObject()) read_error_object(e->value, f);
    else if (e->value.IsString()) f.message = e->value.GetString();
  }
  read_error_object(*root, f);  // DashScope native / Cerebras put the fields at the top level
  if (auto e = root->FindMember("errors"); e != root->MemberEnd() && e->value.IsArray() && !e->value.Empty())
    read_error_object(e->value[0], f);  // Cloudflare: {"success":false,"errors":[{"code":3036,...}]}
  if (f.type == "error") f.type.clear();  // Anthropic's envelope {"type":"error", "error":{...}}
  return f;
}

Result<SignatureTable> SignatureTable::parse(std::string_view json) {
  using R = Result<SignatureTable>;
  rapidjson::Document d;
  json::parse(d, json.data(), json.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("signatures") || !d["signatures"].IsArray())
    return R::fail("error signature table: expected {\"signatures\": [...]}");
  SignatureTable t;
  size_t n = 0;
  for (const auto& s : d["signatures"].GetArray()) {
    ++n;
    Entry e;
    e.note = json::get_string(s, "note");
    e.vendor = lower(json::get_string(s, "vendor"));
    e.reset = json::get_string(s, "reset");
    e.status = static_cast<long>(json::get_int(s, "status", 0));
    auto cls = parse_class(json::get_string(s, "class"));
    if (!cls) return R::fail("error signature " + std::to_string(n) + ": " + cls.error());
    e.cls = cls.value();
    for (const char* field : kFields) {
      auto it = s.FindMember(field);
      if (it == s.MemberEnd()) continue;
      auto& alts = e.match[field];
      if (it->value.IsString()) alts.push_back(lower(it->value.GetString()));
      if (it->value.IsArray())
        for (const auto& a : it->value.GetArray())
          if (a.IsString()) alts.push_back(lower(a.GetString()));
      if (alts.empty()) return R::fail("error signature " + std::to_string(n) + ": field " + field + " is empty");
    }
    if (e.match.empty() && e.status == 0) return R::fail("error signature " + std::to_string(n) + " matches everything");
    t.entries_.push_back(std::move(e));
  }
  return t;
}

const SignatureTable& SignatureTable::builtin() {
  static const SignatureTable table = [] {
    auto t = parse(kBuiltinErrorSignatures);
    if (!t) throw std::runtime_error(t.error());  // a broken built-in table is a build defect
    return std::move(t.value());
  }();
  return table;
}

int64_t retry_hint_ms(const std::map<std::string, std::string>& h, int64_t now_ms) {
  if (auto it = h.find("retry-after"); it != h.end())
    if (auto ms = duration::parse_retry_after(it->second, now_ms)) return *ms;
  if (auto it = h.find("retry-after-ms"); it != h.end())
    if (auto ms = duration::parse_go(it->second + "ms")) return *ms;
  int64_t best = -1;
  for (const char* k : {"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"})
    if (auto it = h.find(k); it != h.end())
      if (auto ms = duration::parse_go(it->second)) best = std::max(best, *ms);
  return best;
}

Classification SignatureTable::classify(long status, std::string_view body, const std::map<std::string, std::string>& headers,
                                        std::string_view vendor, int64_t now_ms) const {
  ErrorFields f = extract_fields(body);
  Classification c;
  c.message = f.message;
  if (c.message.size() > 200) {
    size_t n = 200;
    while (n > 0 && (static_cast<unsigned char>(c.message[n]) & 0xC0) == 0x80) --n;  // not inside a UTF-8 character
    c.message = c.message.substr(0, n) + "...";
  }
  c.retry_after_ms = retry_hint_ms(headers, now_ms);
  if (c.retry_after_ms < 0) c.retry_after_ms = f.retry_delay_ms;
  std::string v = lower(vendor);
  for (const auto& e : entries_) {
    if (!e.vendor.empty() && e.vendor != v) continue;
    if (e.status && e.status != status) continue;
    bool all = true;
    for (const auto& [field, alts] : e.match) all = all && field_matches(field, alts, f);
    if (!all) continue;
    c.cls = e.cls;
    c.note = e.note;
    c.reset = e.reset;
    return c;
  }
  c.cls = by_status(status);
  c.note = "status fallback";
  return c;
}

}  // namespace lingmo::failover
