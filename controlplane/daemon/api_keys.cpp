// Gateway keys (what clients send as their API key): POST /api/keys (the secret is in the answer
// once and never stored: only its SHA-256), GET /api/keys (ids, names, allowlists; no secrets),
// PUT /api/keys/{id} (name, model allowlist, enabled), DELETE /api/keys/{id} (revoke).
#include "api.h"
#include "config/schema.h"
#include "crypto/crypto.h"
#include "translate/jsonv.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;
using rapidjson::Value;

std::string key_json(const config::GatewayKey& k) {
  std::string models = "[";
  for (size_t i = 0; i < k.models.size(); ++i) models += std::string(i ? "," : "") + json::quote(k.models[i]);
  return "{\"id\":" + json::quote(k.id) + ",\"name\":" + json::quote(k.name) + ",\"models\":" + models +
         "],\"enabled\":" + (k.enabled ? "true" : "false") + "}";
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
        body += (first ? "" : ",") + key_json(k.value());
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
    if (const Value* e = jv::get(d, "enabled")) {
      if (!e->IsBool()) return bad_request("enabled must be true or false");
      k.value().enabled = e->GetBool();
    }
    if (auto s = app.redis.run({"HSET", schema::kGatewayKeys, k.value().hash, schema::to_json(k.value())}); !s)
      return storage_error(s.error());
    app.notify_change("key");
    return ok_raw(key_json(k.value()));
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
