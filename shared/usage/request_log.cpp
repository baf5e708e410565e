#include "usage/request_log.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/json.h"

namespace lingmo::usage {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void kv(Writer& w, const char* k, std::string_view v) {
  w.Key(k);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void kv(Writer& w, const char* k, int64_t v) {
  w.Key(k);
  w.Int64(v);
}

failover::Failure failure_of(std::string_view name) {
  using failover::Failure;
  for (Failure f : {Failure::kNone, Failure::kConnect, Failure::kFirstByteTimeout, Failure::kIdleTimeout,
                    Failure::kRateLimited, Failure::kQuotaExhausted, Failure::kAuth, Failure::kServer,
                    Failure::kMalformed, Failure::kInterrupted, Failure::kClientError})
    if (name == failover::failure_name(f)) return f;
  return Failure::kServer;
}

}  // namespace

std::string to_json(const RequestRecord& r) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  kv(w, "ts", r.ts_ms);
  kv(w, "id", r.id);
  kv(w, "key", r.key_id);
  kv(w, "key_name", r.key_name);
  kv(w, "api", r.api);
  kv(w, "model", r.model);
  w.Key("stream");
  w.Bool(r.stream);
  kv(w, "status", r.status);
  kv(w, "provider", r.provider);
  kv(w, "upstream_model", r.upstream_model);
  kv(w, "latency_ms", r.latency_ms);
  kv(w, "ttfb_ms", r.ttfb_ms);
  kv(w, "prompt_tokens", r.usage.prompt_tokens);
  kv(w, "completion_tokens", r.usage.completion_tokens);
  kv(w, "total_tokens", r.usage.total_tokens);
  kv(w, "cost_micros", r.usage.cost_micros);
  kv(w, "error", r.error);
  w.Key("attempts");
  w.StartArray();
  for (const auto& a : r.attempts) {
    w.StartObject();
    kv(w, "provider", a.provider_id);
    kv(w, "model", a.upstream_model);
    kv(w, "outcome", failover::failure_name(a.failure));
    kv(w, "status", static_cast<int64_t>(a.status));
    kv(w, "detail", a.detail);
    w.EndObject();
  }
  w.EndArray();
  w.Key("skipped");
  w.StartArray();
  for (const auto& s : r.skipped) {
    w.StartObject();
    kv(w, "provider", s.provider_id);
    kv(w, "code", s.code);
    kv(w, "reason", s.reason);
    w.EndObject();
  }
  w.EndArray();
  kv(w, "client_ip", r.client_ip);
  kv(w, "user_agent", r.user_agent.substr(0, 200));
  w.EndObject();
  return sb.GetString();
}

Result<RequestRecord> record_from_json(std::string_view json) {
  using R = Result<RequestRecord>;
  rapidjson::Document d;
  json::parse(d, json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return R::fail("request record is not a JSON object");
  RequestRecord r;
  r.ts_ms = json::get_int(d, "ts");
  r.id = json::get_string(d, "id");
  r.key_id = json::get_string(d, "key");
  r.key_name = json::get_string(d, "key_name");
  r.api = json::get_string(d, "api");
  r.model = json::get_string(d, "model");
  r.stream = json::get_bool(d, "stream");
  r.status = static_cast<int>(json::get_int(d, "status"));
  r.provider = json::get_string(d, "provider");
  r.upstream_model = json::get_string(d, "upstream_model");
  r.latency_ms = json::get_int(d, "latency_ms");
  r.ttfb_ms = json::get_int(d, "ttfb_ms", -1);
  r.usage.requests = 1;
  r.usage.prompt_tokens = json::get_int(d, "prompt_tokens");
  r.usage.completion_tokens = json::get_int(d, "completion_tokens");
  r.usage.total_tokens = json::get_int(d, "total_tokens");
  r.usage.cost_micros = json::get_int(d, "cost_micros");
  r.error = json::get_string(d, "error");
  if (auto it = d.FindMember("attempts"); it != d.MemberEnd() && it->value.IsArray())
    for (const auto& a : it->value.GetArray()) {
      if (!a.IsObject()) continue;
      failover::AttemptRecord ar;
      ar.provider_id = json::get_string(a, "provider");
      ar.upstream_model = json::get_string(a, "model");
      ar.failure = failure_of(json::get_string(a, "outcome"));
      ar.status = static_cast<long>(json::get_int(a, "status"));
      ar.detail = json::get_string(a, "detail");
      r.attempts.push_back(std::move(ar));
    }
  if (auto it = d.FindMember("skipped"); it != d.MemberEnd() && it->value.IsArray())
    for (const auto& s : it->value.GetArray()) {
      if (!s.IsObject()) continue;
      r.skipped.push_back({json::get_string(s, "provider"), json::get_string(s, "reason"), json::get_string(s, "code"), 0});
    }
  r.client_ip = json::get_string(d, "client_ip");
  r.user_agent = json::get_string(d, "user_agent");
  return r;
}

std::string explain(const RequestRecord& r) {
  std::string s;
  std::string failed;
  for (const auto& a : r.attempts) {
    if (a.failure == failover::Failure::kNone) continue;
    failed += std::string(failed.empty() ? "" : ", then ") + failover::describe(a);
  }
  if (!r.provider.empty()) {
    s = "served by " + r.provider + (r.upstream_model.empty() ? "" : " (" + r.upstream_model + ")");
    if (!failed.empty()) s += " after " + failed;
  } else if (!failed.empty()) {
    s = "no provider answered: " + failed;
  } else if (r.status >= 400) {
    s = "not routed: " + (r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
  } else {
    s = "answered by the gateway";
  }
  std::string passed;
  for (const auto& k : r.skipped) passed += std::string(passed.empty() ? "" : "; ") + k.provider_id + " (" + k.reason + ")";
  if (!passed.empty()) s += "; passed over " + passed;
  return s;
}

bool valid_status_filter(std::string_view s) {
  if (s.empty() || s == "ok" || s == "error") return true;
  if (s.size() != 3 || s[0] < '1' || s[0] > '5') return false;
  if (s.substr(1) == "xx") return true;
  return s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
}

bool LogFilter::matches(const RequestRecord& r) const {
  if (since_ms && r.ts_ms < since_ms) return false;
  if (until_ms && r.ts_ms >= until_ms) return false;
  if (!key_id.empty() && r.key_id != key_id) return false;
  if (!model.empty() && r.model != model) return false;
  if (!provider.empty() && r.provider != provider) {
    bool tried = false;
    for (const auto& a : r.attempts) tried = tried || a.provider_id == provider;
    if (!tried) return false;
  }
  if (!status.empty()) {
    if (status == "ok") return r.status > 0 && r.status < 400;
    if (status == "error") return r.status >= 400;
    if (status.substr(1) == "xx") return r.status / 100 == status[0] - '0';
    return std::to_string(r.status) == status;
  }
  return true;
}

}  // namespace lingmo::usage
