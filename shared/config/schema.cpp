#include "config/schema.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "util/json.h"

namespace lingmo::schema {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void kv(Writer& w, const char* k, const std::string& v) {
  w.Key(k);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

Result<rapidjson::Document> parse_object(std::string_view json, const char* what) {
  rapidjson::Document d;
  json::parse(d, json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return Result<rapidjson::Document>::fail(std::string(what) + " is not a JSON object");
  return d;
}

// Quota rules as stored: {"metric","window","limit" (currency units for cost),"tz","model"}.
// Shared by provider quotas and gateway-key budgets.
void write_rules(Writer& w, const std::vector<quota::Rule>& rules) {
  w.StartArray();
  for (const auto& q : rules) {
    w.StartObject();
    kv(w, "metric", q.metric);
    kv(w, "window", quota::window_name(q.window));
    w.Key("limit");
    if (q.metric == "cost")
      w.Double(quota::limit_to_units(q.metric, q.limit));
    else
      w.Int64(q.limit);
    kv(w, "tz", q.tz);
    kv(w, "model", q.model);
    w.EndObject();
  }
  w.EndArray();
}

Result<std::vector<quota::Rule>> read_rules(const rapidjson::Value& arr, const std::string& owner) {
  using R = Result<std::vector<quota::Rule>>;
  std::vector<quota::Rule> out;
  for (const auto& q : arr.GetArray()) {
    if (!q.IsObject()) return R::fail(owner + ": a quota rule is not an object");
    quota::Rule r;
    r.metric = json::get_string(q, "metric");
    if (!quota::valid_metric(r.metric)) return R::fail(owner + ": quota metric \"" + r.metric + "\" is unknown");
    auto w = quota::parse_window(json::get_string(q, "window", "day"));
    if (!w) return R::fail(owner + ": " + w.error());
    r.window = w.value();
    if (auto l = q.FindMember("limit"); l != q.MemberEnd() && l->value.IsNumber())
      r.limit = quota::limit_from_units(r.metric, l->value.GetDouble());
    if (r.limit <= 0) return R::fail(owner + ": quota limit must be positive");
    r.tz = json::get_string(q, "tz", "UTC");
    if (r.tz.empty()) r.tz = "UTC";
    r.model = json::get_string(q, "model");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

const char* const kSetStateScript =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if cur then\n"
    "  local ok, st = pcall(cjson.decode, cur)\n"
    "  if ok and type(st) == 'table' and tonumber(st.unusable_until_ms or 0) > tonumber(ARGV[3]) then return 0 end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 1\n";

std::string usage_key(std::string_view provider_id, std::string_view day) {
  return "lingmo:usage:" + std::string(provider_id) + ":" + std::string(day);
}

std::string hourly_usage_key(std::string_view provider_id, std::string_view hour) {
  return "lingmo:usageh:" + std::string(provider_id) + ":" + std::string(hour);
}

std::string key_usage_key(std::string_view key_id, std::string_view day) {
  return "lingmo:keyusage:" + std::string(key_id) + ":" + std::string(day);
}

std::string to_json(const config::CircuitNote& n) {
  return "{\"since_ms\":" + std::to_string(n.since_ms) + ",\"open_until_ms\":" + std::to_string(n.open_until_ms) +
         ",\"cause\":" + json::quote(n.cause) + ",\"pid\":" + std::to_string(n.pid) + "}";
}

Result<config::CircuitNote> circuit_from_json(std::string_view text) {
  auto doc = parse_object(text, "circuit note");
  if (!doc) return Result<config::CircuitNote>::fail(doc.error());
  const auto& d = doc.value();
  return config::CircuitNote{json::get_int(d, "since_ms"), json::get_int(d, "open_until_ms"), json::get_string(d, "cause"),
                             json::get_int(d, "pid")};
}

std::string usage_batch_key(std::string_view batch_id) { return "lingmo:usage:batch:" + std::string(batch_id); }

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

std::string to_json(const config::Provider& p) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  kv(w, "id", p.id);
  kv(w, "name", p.name);
  kv(w, "vendor", p.vendor);
  kv(w, "dialect", p.dialect);
  kv(w, "base_url", p.base_url);
  kv(w, "api_key_sealed", p.api_key_sealed);
  kv(w, "proxy", p.proxy);
  w.Key("priority");
  w.Int(p.priority);
  w.Key("enabled");
  w.Bool(p.enabled);
  w.Key("models");
  w.StartArray();
  for (const auto& m : p.models) {
    w.StartObject();
    kv(w, "name", m.name);
    kv(w, "upstream", m.upstream);
    w.EndObject();
  }
  w.EndArray();
  w.Key("headers");
  w.StartObject();
  for (const auto& [k, v] : p.headers) kv(w, k.c_str(), v);
  w.EndObject();
  w.Key("drop_params");
  w.StartArray();
  for (const auto& d : p.drop_params) w.String(d.c_str());
  w.EndArray();
  w.Key("rename_params");
  w.StartObject();
  for (const auto& [k, v] : p.rename_params) kv(w, k.c_str(), v);
  w.EndObject();
  w.Key("quotas");
  write_rules(w, p.quotas);
  if (p.max_output_tokens > 0) {
    w.Key("max_output_tokens");
    w.Int64(p.max_output_tokens);
  }
  if (p.replay_reasoning) {
    w.Key("replay_reasoning");
    w.Bool(true);
  }
  if (p.responses_api) {
    w.Key("responses_api");
    w.Bool(true);
  }
  if (p.threshold > 0) {
    w.Key("threshold");
    w.Double(p.threshold);
  }
  if (p.price_input > 0 || p.price_output > 0) {
    w.Key("prices");
    w.StartObject();
    w.Key("input_per_mtok");
    w.Double(p.price_input);
    w.Key("output_per_mtok");
    w.Double(p.price_output);
    w.EndObject();
  }
  if (!p.balance.empty()) {  // only what is set: providers without it keep their stored shape
    w.Key("balance");
    w.StartObject();
    if (!p.balance.kind.empty()) kv(w, "kind", p.balance.kind);
    if (!p.balance.url.empty()) kv(w, "url", p.balance.url);
    if (!p.balance.admin_key_sealed.empty()) kv(w, "admin_key_sealed", p.balance.admin_key_sealed);
    if (!p.balance.currency.empty()) kv(w, "currency", p.balance.currency);
    w.EndObject();
  }
  w.EndObject();
  return sb.GetString();
}

Result<config::Provider> provider_from_json(std::string_view json) {
  using R = Result<config::Provider>;
  auto doc = parse_object(json, "provider");
  if (!doc) return R::fail(doc.error());
  const auto& d = doc.value();
  config::Provider p;
  p.id = json::get_string(d, "id");
  if (!valid_id(p.id)) return R::fail("provider id \"" + p.id + "\" is invalid (use 1-64 of A-Z a-z 0-9 _ . -)");
  p.name = json::get_string(d, "name", p.id);
  p.vendor = json::get_string(d, "vendor");
  p.dialect = json::get_string(d, "dialect", "openai");
  if (p.dialect != "openai" && p.dialect != "anthropic" && p.dialect != "gemini")
    return R::fail("provider " + p.id + ": dialect \"" + p.dialect + "\" is unknown (openai, anthropic or gemini)");
  p.base_url = json::get_string(d, "base_url");
  while (!p.base_url.empty() && p.base_url.back() == '/') p.base_url.pop_back();
  if (!starts_with(p.base_url, "http://") && !starts_with(p.base_url, "https://"))
    return R::fail("provider " + p.id + ": base_url must start with http:// or https://");
  p.api_key_sealed = json::get_string(d, "api_key_sealed");
  p.proxy = json::get_string(d, "proxy");
  if (!p.proxy.empty() && !starts_with(p.proxy, "http://") && !starts_with(p.proxy, "https://") &&
      !starts_with(p.proxy, "socks5://") && !starts_with(p.proxy, "socks5h://") && !starts_with(p.proxy, "socks4://"))
    return R::fail("provider " + p.id + ": proxy must be an http://, https://, socks4://, socks5:// or socks5h:// URL");
  p.priority = static_cast<int>(json::get_int(d, "priority", 100));
  p.enabled = json::get_bool(d, "enabled", true);
  if (auto it = d.FindMember("models"); it != d.MemberEnd() && it->value.IsArray()) {
    for (const auto& m : it->value.GetArray()) {
      config::ModelMapping mm;
      if (m.IsString()) {
        mm.name = mm.upstream = m.GetString();
      } else {
        mm.name = json::get_string(m, "name");
        mm.upstream = json::get_string(m, "upstream", mm.name);
      }
      if (mm.name.empty()) return R::fail("provider " + p.id + ": a model has no name");
      if (mm.upstream.empty()) mm.upstream = mm.name;
      p.models.push_back(std::move(mm));
    }
  }
  if (auto it = d.FindMember("headers"); it != d.MemberEnd() && it->value.IsObject()) {
    for (const auto& h : it->value.GetObject())
      if (h.value.IsString()) p.headers[h.name.GetString()] = h.value.GetString();
  }
  if (auto it = d.FindMember("drop_params"); it != d.MemberEnd() && it->value.IsArray())
    for (const auto& v : it->value.GetArray())
      if (v.IsString()) p.drop_params.emplace_back(v.GetString());
  if (auto it = d.FindMember("rename_params"); it != d.MemberEnd() && it->value.IsObject())
    for (const auto& m : it->value.GetObject())
      if (m.value.IsString()) p.rename_params[m.name.GetString()] = m.value.GetString();
  if (auto it = d.FindMember("quotas"); it != d.MemberEnd() && it->value.IsArray()) {
    auto rules = read_rules(it->value, "provider " + p.id);
    if (!rules) return R::fail(rules.error());
    p.quotas = std::move(rules.value());
  }
  if (auto it = d.FindMember("prices"); it != d.MemberEnd() && it->value.IsObject()) {
    auto num = [&](const char* k) {
      auto f = it->value.FindMember(k);
      return f != it->value.MemberEnd() && f->value.IsNumber() ? f->value.GetDouble() : 0.0;
    };
    p.price_input = num("input_per_mtok");
    p.price_output = num("output_per_mtok");
    if (p.price_input < 0 || p.price_output < 0) return R::fail("provider " + p.id + ": prices cannot be negative");
  }
  p.max_output_tokens = json::get_int(d, "max_output_tokens", 0);
  if (p.max_output_tokens < 0) return R::fail("provider " + p.id + ": max_output_tokens cannot be negative");
  p.replay_reasoning = json::get_bool(d, "replay_reasoning", false);
  p.responses_api = json::get_bool(d, "responses_api", false);
  if (auto it = d.FindMember("threshold"); it != d.MemberEnd() && it->value.IsNumber()) {
    p.threshold = it->value.GetDouble();
    if (!(p.threshold > 0 && p.threshold <= 1)) return R::fail("provider " + p.id + ": threshold must be in (0, 1]");
  }
  // Read leniently: only the control plane uses it (and checks it on input), and a bad value must
  // not cost the data plane a provider.
  if (auto it = d.FindMember("balance"); it != d.MemberEnd() && it->value.IsObject()) {
    p.balance.kind = json::get_string(it->value, "kind");
    p.balance.url = json::get_string(it->value, "url");
    p.balance.admin_key_sealed = json::get_string(it->value, "admin_key_sealed");
    p.balance.currency = json::get_string(it->value, "currency");
  }
  return p;
}

std::string to_json(const config::GatewayKey& k) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  kv(w, "id", k.id);
  kv(w, "name", k.name);
  w.Key("models");
  w.StartArray();
  for (const auto& m : k.models) w.String(m.c_str());
  w.EndArray();
  w.Key("enabled");
  w.Bool(k.enabled);
  if (!k.budgets.empty()) {
    w.Key("budgets");
    write_rules(w, k.budgets);
  }
  w.EndObject();
  return sb.GetString();
}

Result<config::GatewayKey> gateway_key_from_json(std::string_view hash, std::string_view json) {
  using R = Result<config::GatewayKey>;
  auto doc = parse_object(json, "gateway key");
  if (!doc) return R::fail(doc.error());
  const auto& d = doc.value();
  config::GatewayKey k;
  k.hash = std::string(hash);
  k.id = json::get_string(d, "id", k.hash.substr(0, 8));
  k.name = json::get_string(d, "name");
  k.enabled = json::get_bool(d, "enabled", true);
  if (auto it = d.FindMember("models"); it != d.MemberEnd() && it->value.IsArray())
    for (const auto& m : it->value.GetArray())
      if (m.IsString()) k.models.emplace_back(m.GetString());
  if (auto it = d.FindMember("budgets"); it != d.MemberEnd() && it->value.IsArray()) {
    auto rules = read_rules(it->value, "gateway key " + k.id);
    if (!rules) return R::fail(rules.error());
    k.budgets = std::move(rules.value());
  }
  return k;
}

config::Settings settings_from_hash(const std::map<std::string, std::string>& h, std::vector<std::string>* warnings) {
  config::Settings s;
  if (auto it = h.find("threshold"); it != h.end()) {
    char* end = nullptr;
    double t = std::strtod(it->second.c_str(), &end);
    if (end && *end == '\0' && t > 0 && t <= 1)
      s.threshold = t;
    else if (warnings)
      warnings->push_back("setting threshold=\"" + it->second + "\" ignored: must be a number in (0, 1]");
  }
  if (auto it = h.find("auto_switch"); it != h.end()) s.auto_switch = !(it->second == "0" || it->second == "off" || it->second == "false");
  if (auto it = h.find("pin"); it != h.end()) s.pin = it->second;
  if (auto it = h.find("gateway_url"); it != h.end()) {
    bool web = it->second.rfind("http://", 0) == 0 || it->second.rfind("https://", 0) == 0;
    if (web && it->second.size() <= 512 && it->second.find_first_of(" \t\r\n\"<>") == std::string::npos)
      s.gateway_url = it->second;
    else if (warnings)
      warnings->push_back("setting gateway_url=\"" + it->second + "\" ignored: must be an http:// or https:// URL");
  }
  if (auto it = h.find("warn_levels"); it != h.end()) {
    std::vector<double> levels;
    bool ok = true;
    std::string item;
    for (size_t i = 0; i <= it->second.size(); ++i) {
      if (i == it->second.size() || it->second[i] == ',') {
        char* end = nullptr;
        double v = std::strtod(item.c_str(), &end);
        ok = ok && !item.empty() && end && *end == '\0' && v > 0 && v <= 1;
        levels.push_back(v);
        item.clear();
      } else {
        item.push_back(it->second[i]);
      }
    }
    if (ok) {
      std::sort(levels.begin(), levels.end());
      s.warn_levels = levels;
    } else if (warnings) {
      warnings->push_back("setting warn_levels=\"" + it->second + "\" ignored: expected e.g. 0.8,0.95");
    }
  }
  return s;
}

std::string to_json(const config::ProviderState& s) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("unusable_until_ms");
  w.Int64(s.unusable_until_ms);
  kv(w, "reason", s.reason);
  kv(w, "kind", s.kind);
  kv(w, "fingerprint", s.fingerprint);
  w.EndObject();
  return sb.GetString();
}

Result<config::ProviderState> state_from_json(std::string_view json) {
  auto doc = parse_object(json, "provider state");
  if (!doc) return Result<config::ProviderState>::fail(doc.error());
  config::ProviderState s;
  s.unusable_until_ms = json::get_int(doc.value(), "unusable_until_ms", 0);
  s.reason = json::get_string(doc.value(), "reason");
  s.kind = json::get_string(doc.value(), "kind");
  s.fingerprint = json::get_string(doc.value(), "fingerprint");
  return s;
}

}  // namespace lingmo::schema
