// Gateway keys (what clients send as their API key): POST /api/keys (the secret is in the answer
// once and never stored: only its SHA-256), GET /api/keys (ids, names, allowlists; no secrets),
// PUT /api/keys/{id} (name, model allowlist, budgets, enabled), DELETE /api/keys/{id} (revoke).
// Budgets are quota rules on the key ({"metric","window","limit","tz"}); the data plane refuses
// the key's requests once one is used up (quota::key_plan). Listings show each budget's use in
// its current window and the key's usage today.
#include "api.h"
#include "clock.h"
#include "config/schema.h"
#include "crypto/crypto.h"
#include "quota/admission.h"
#include "usage/ledger.h"
#include "translate/jsonv.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;
using rapidjson::Value;

int64_t counter(RedisPool& redis, const std::string& key, const char* field) {
  auto v = redis.run({"HGET", key, field});
  if (!v || v.value()->type != REDIS_REPLY_STRING) return 0;
  return std::atoll(v.value()->str);
}

// The key as the API shows it. With `redis`, also each budget's use and the usage of today (UTC).
std::string key_json(const config::GatewayKey& k, RedisPool* redis = nullptr) {
  std::string models = "[";
  for (size_t i = 0; i < k.models.size(); ++i) models += std::string(i ? "," : "") + json::quote(k.models[i]);
  std::string budgets = "[";
  int64_t now = epoch_ms();
  quota::Plan plan = quota::key_plan(k, {}, now);
  for (size_t i = 0; i < k.budgets.size() && i < plan.items.size(); ++i) {
    const quota::Rule& b = k.budgets[i];
    const quota::PlanItem& it = plan.items[i];
    double limit = quota::limit_to_units(b.metric, b.limit);
    budgets += std::string(i ? "," : "") + "{\"metric\":" + json::quote(b.metric) + ",\"window\":" +
               json::quote(quota::window_name(b.window)) + ",\"limit\":" + json::number(limit) + ",\"tz\":" + json::quote(b.tz);
    if (redis) {
      int64_t used = counter(*redis, it.key, it.metric.c_str());
      budgets += ",\"used\":" + json::number(quota::limit_to_units(b.metric, used)) + ",\"resets_ms\":" + std::to_string(it.window_end_ms);
    }
    budgets += "}";
  }
  std::string out = "{\"id\":" + json::quote(k.id) + ",\"name\":" + json::quote(k.name) + ",\"models\":" + models +
                    "],\"enabled\":" + (k.enabled ? "true" : "false") + ",\"budgets\":" + budgets + "]";
  if (redis) {
    std::string day = schema::key_usage_key(k.id, usage::utc_day(now));
    out += ",\"today\":{";
    for (int f = 0; f < usage::kFieldCount; ++f)
      out += std::string(f ? "," : "") + "\"" + usage::kFields[f] + "\":" + std::to_string(counter(*redis, day, usage::kFields[f]));
    out += "}";
  }
  return out + "}";
}

// "budgets": [{"metric","window","limit","tz"}] — validated by the same reader the data plane uses.
Result<bool> read_budgets(const Value& body, std::vector<quota::Rule>& out) {
  using R = Result<bool>;
  const Value* b = jv::get(body, "budgets");
  if (!b) return true;
  if (!b->IsArray()) return R::fail("budgets must be an array of {metric, window, limit, tz}");
  if (b->Size() > 8) return R::fail("at most 8 budgets per key");
  for (const auto& rule : b->GetArray())
    if (rule.IsObject() && jv::get(rule, "model")) return R::fail("a key budget counts every model: drop \"model\"");
  auto parsed = schema::gateway_key_from_json("", "{\"budgets\":" + json::stringify(*b) + "}");
  if (!parsed) return R::fail(parsed.error());
  for (const auto& r : parsed.value().budgets)
    if (auto z = quota::TimeZone::cached(r.tz); !z) return R::fail("budget time zone: " + z.error());
  out = std::move(parsed.value().budgets);
  return true;
}

Result<bool> read_models(const Value& body, std::vector<std::string>& out) {
  const Value* m = jv::get(body, "models");
  if (!m) return true;
  if (!m->IsArray()) return Result<bool>::fail("models must be an array of client model names");
  out.clear();
  for (const auto& v : m->GetArray()) {
    if (!v.IsString() || !v.GetStringLength()) return Result<bool>::fail("models must be an array of client model names");
    out.emplace_back(v.GetString());
  }
  return true;
}

// The stored key whose id (first 8 hex of the hash) is `id`: its hash and value.
Result<config::GatewayKey> find_key(App& app, const std::string& id) {
  auto all = app.redis.hgetall(schema::kGatewayKeys);
  if (!all) return Result<config::GatewayKey>::fail("storage: " + all.error());
  for (const auto& [hash, json] : all.value())
    if (hash.substr(0, 8) == id)
      if (auto k = schema::gateway_key_from_json(hash, json)) return k;
  return Result<config::GatewayKey>::fail("");
}

}  // namespace

void register_key_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/keys", Access::kRead, "", [&app](const Call&) {
    auto all = app.redis.hgetall(schema::kGatewayKeys);
    if (!all) return storage_error(all.error());
    std::string body = "{\"keys\":[";
    bool first = true;
    for (const auto& [hash, json] : all.value())
      if (auto k = schema::gateway_key_from_json(hash, json)) {
        body += (first ? "" : ",") + key_json(k.value(), &app.redis);
        first = false;
      }
    return ok_raw(body + "]}");
  });

  r.route("POST", "/api/keys", Access::kWrite, "key.create", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    config::GatewayKey k;
    k.name = json::get_string(d, "name");
    if (auto m = read_models(d, k.models); !m) return bad_request(m.error());
    if (auto b = read_budgets(d, k.budgets); !b) return bad_request(b.error());
    std::string secret = "lm-" + crypto::to_hex(crypto::random_bytes(24));
    k.hash = crypto::sha256_hex(secret);
    k.id = k.hash.substr(0, 8);
    if (auto s = app.redis.run({"HSET", schema::kGatewayKeys, k.hash, schema::to_json(k)}); !s) return storage_error(s.error());
    app.notify_change("key");
    std::string body = key_json(k);
    body.insert(body.size() - 1, ",\"secret\":" + json::quote(secret));  // shown this once, never again
    return ok_raw(body, 201);
  });

  r.route("PUT", "/api/keys/([0-9a-f]{8})", Access::kWrite, "key.update", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    auto k = find_key(app, c.req.matches[1]);
    if (!k) return k.error().empty() ? not_found("key " + std::string(c.req.matches[1])) : storage_error(k.error());
    if (jv::get(d, "name")) k.value().name = json::get_string(d, "name");
    if (auto m = read_models(d, k.value().models); !m) return bad_request(m.error());
    if (auto b = read_budgets(d, k.value().budgets); !b) return bad_request(b.error());
    if (const Value* e = jv::get(d, "enabled")) {
      if (!e->IsBool()) return bad_request("enabled must be true or false");
      k.value().enabled = e->GetBool();
    }
    if (auto s = app.redis.run({"HSET", schema::kGatewayKeys, k.value().hash, schema::to_json(k.value())}); !s)
      return storage_error(s.error());
    app.notify_change("key");
    return ok_raw(key_json(k.value(), &app.redis));
  });

  r.route("DELETE", "/api/keys/([0-9a-f]{8})", Access::kWrite, "key.revoke", [&app](const Call& c) {
    auto k = find_key(app, c.req.matches[1]);
    if (!k) return k.error().empty() ? not_found("key " + std::string(c.req.matches[1])) : storage_error(k.error());
    if (auto s = app.redis.run({"HDEL", schema::kGatewayKeys, k.value().hash}); !s) return storage_error(s.error());
    app.notify_change("key");
    return ok_raw("{\"ok\":true}");
  });
}

}  // namespace lingmo::cp
