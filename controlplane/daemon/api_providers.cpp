// Providers ("models" in the brief's API): GET /api/model/list, GET /api/model/{id},
// POST /api/model/add (optionally from a vendor template), PUT /api/model/{id},
// DELETE /api/model/{id}, POST /api/model/{id}/enable|disable, POST /api/model/{id}/clear (lift a
// park, reset circuit breakers), POST /api/model/reorder,
// GET /api/templates. Vendor keys arrive in plain text over the API, are sealed
// (AES-256-GCM, provider id as associated data) before they are stored, and are only ever shown
// masked.
#include <algorithm>
#include <map>

#include "api.h"
#include "util/secret.h"
#include "provider_input.h"
#include "config/schema.h"
#include "quota/rules.h"
#include "translate/jsonv.h"
#include "util/json.h"
#include "vendors/templates.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;
using rapidjson::Value;

constexpr const char* kIdPattern = "([A-Za-z0-9_.-]{1,64})";

// The provider as the API shows it: the stored JSON without the sealed key, plus a masked key and
// the observed state (parked until when, and why).
void provider_view(App& app, const config::Provider& p, const std::map<std::string, std::string>& states,
                   rapidjson::Document& out) {
  std::string stored = schema::to_json(p);
  out.Parse(stored.c_str());
  auto& a = out.GetAllocator();
  out.RemoveMember("api_key_sealed");
  out.AddMember("has_api_key", !p.api_key_sealed.empty(), a);
  if (!p.api_key_sealed.empty()) {
    auto key = app.secret.decrypt(p.api_key_sealed, p.id);
    jv::add(out, "api_key_masked", key ? secret::mask(key.value()) : std::string("(sealed with another secret key)"), a);
  }
  // The balance sync's admin key: shown as present or not, never as its sealed value.
  if (auto b = out.FindMember("balance"); b != out.MemberEnd() && b->value.IsObject()) {
    b->value.RemoveMember("admin_key_sealed");
    b->value.AddMember("has_admin_key", !p.balance.admin_key_sealed.empty(), a);
  }
  auto st = states.find(p.id);
  if (st != states.end()) {
    rapidjson::Document s;
    s.Parse(st->second.c_str());
    if (!s.HasParseError() && s.IsObject()) {
      s.RemoveMember("fingerprint");
      out.AddMember("state", Value(s, a), a);
    }
  }
}

Result<config::Provider> load(App& app, const std::string& id) {
  auto v = app.redis.get_string({"HGET", schema::kProviders, id});
  if (!v) return Result<config::Provider>::fail("storage: " + v.error());
  if (v.value().empty()) return Result<config::Provider>::fail("");
  return schema::provider_from_json(v.value());
}

Reply provider_reply(App& app, const config::Provider& p, int status = 200) {
  auto states = app.redis.hgetall(schema::kProviderState);
  rapidjson::Document out;
  provider_view(app, p, states ? states.value() : std::map<std::string, std::string>{}, out);
  return ok_json(out, status);
}

Reply set_enabled(App& app, const std::string& id, bool enabled) {
  auto p = load(app, id);
  if (!p) return p.error().empty() ? not_found("provider " + id) : storage_error(p.error());
  p.value().enabled = enabled;
  if (auto r = app.redis.run({"HSET", schema::kProviders, id, schema::to_json(p.value())}); !r) return storage_error(r.error());
  app.notify_change("provider");
  return provider_reply(app, p.value());
}

}  // namespace

void register_provider_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/model/list", Access::kRead, "", [&app](const Call&) {
    auto all = app.redis.hgetall(schema::kProviders);
    if (!all) return storage_error(all.error());
    auto states = app.redis.hgetall(schema::kProviderState);
    std::vector<config::Provider> providers;
    for (const auto& [id, json] : all.value())
      if (auto p = schema::provider_from_json(json)) providers.push_back(std::move(p.value()));
    std::sort(providers.begin(), providers.end(),
              [](const auto& x, const auto& y) { return x.priority != y.priority ? x.priority < y.priority : x.id < y.id; });
    rapidjson::Document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    Value list(rapidjson::kArrayType);
    std::map<std::string, std::vector<std::string>> by_model;  // client model name -> providers, in order
    for (const auto& p : providers) {
      rapidjson::Document one;
      provider_view(app, p, states ? states.value() : std::map<std::string, std::string>{}, one);
      list.PushBack(Value(one, a), a);
      for (const auto& m : p.models) by_model[m.name].push_back(p.id);
    }
    out.AddMember("providers", list, a);
    Value models(rapidjson::kObjectType);
    for (const auto& [name, ids] : by_model) {
      Value arr(rapidjson::kArrayType);
      for (const auto& id : ids) arr.PushBack(jv::str(id, a), a);
      models.AddMember(jv::str(name, a), arr, a);
    }
    out.AddMember("models", models, a);
    return ok_json(out);
  });

  r.route("GET", std::string("/api/model/") + kIdPattern, Access::kRead, "", [&app](const Call& c) {
    auto p = load(app, c.req.matches[1]);
    if (!p) return p.error().empty() ? not_found("provider " + std::string(c.req.matches[1])) : storage_error(p.error());
    return provider_reply(app, p.value());
  });

  r.route("POST", "/api/model/add", Access::kWrite, "provider.add", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    auto p = provider_from_body(app, d, nullptr);
    if (!p) return bad_request(p.error());
    for (const char* reserved : {"list", "add", "reorder", "test"})  // path words of this API
      if (p.value().id == reserved) return bad_request("\"" + p.value().id + "\" is reserved; choose another provider id");
    auto set = app.redis.run({"HSETNX", schema::kProviders, p.value().id, schema::to_json(p.value())});
    if (!set) return storage_error(set.error());
    if (set.value()->integer == 0)
      return error_reply(409, "already_exists", "provider " + p.value().id + " exists (PUT /api/model/" + p.value().id + " to change it)");
    app.notify_change("provider");
    return provider_reply(app, p.value(), 201);
  });

  r.route("PUT", std::string("/api/model/") + kIdPattern, Access::kWrite, "provider.update", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    std::string id = c.req.matches[1];
    auto existing = load(app, id);
    if (!existing) return existing.error().empty() ? not_found("provider " + id) : storage_error(existing.error());
    if (jv::get(d, "id") && json::get_string(d, "id") != id) return bad_request("the id cannot be changed (delete and add instead)");
    auto p = provider_from_body(app, d, &existing.value());
    if (!p) return bad_request(p.error());
    if (auto s = app.redis.run({"HSET", schema::kProviders, id, schema::to_json(p.value())}); !s) return storage_error(s.error());
    app.notify_change("provider");
    return provider_reply(app, p.value());
  });

  r.route("DELETE", std::string("/api/model/") + kIdPattern, Access::kWrite, "provider.delete", [&app](const Call& c) {
    std::string id = c.req.matches[1];
    auto del = app.redis.run({"HDEL", schema::kProviders, id});
    if (!del) return storage_error(del.error());
    if (del.value()->integer == 0) return not_found("provider " + id);
    app.redis.run({"HDEL", schema::kProviderState, id});
    app.notify_change("provider");
    return ok_raw("{\"ok\":true}");
  });

  r.route("POST", std::string("/api/model/") + kIdPattern + "/enable", Access::kWrite, "provider.enable",
          [&app](const Call& c) { return set_enabled(app, c.req.matches[1], true); });
  r.route("POST", std::string("/api/model/") + kIdPattern + "/disable", Access::kWrite, "provider.disable",
          [&app](const Call& c) { return set_enabled(app, c.req.matches[1], false); });

  // Priority order as a list of ids: the first gets priority 10, the next 20, ... (what the UI's
  // drag and drop sends). Providers not listed keep theirs.
  // The operator's "it is fixed now": lifts the provider's park (any kind) and resets the nginx
  // workers' circuit breakers for it, like `lingmo-admin state clear ID`.
  r.route("POST", std::string("/api/model/") + kIdPattern + "/clear", Access::kWrite, "provider.clear", [&app](const Call& c) {
    std::string id = c.req.matches[1];
    auto p = load(app, id);
    if (!p) return p.error().empty() ? not_found("provider " + id) : storage_error(p.error());
    auto del = app.redis.run({"HDEL", schema::kProviderState, id});
    if (!del) return storage_error(del.error());
    app.redis.run({"HDEL", schema::kCircuits, id});
    app.redis.run({"PUBLISH", schema::kEventsChannel, std::string(schema::kClearPrefix) + id});
    return ok_raw("{\"ok\":true,\"was_parked\":" + std::string(del.value()->integer > 0 ? "true" : "false") + "}");
  });

  r.route("POST", "/api/model/reorder", Access::kWrite, "provider.reorder", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    const Value* order = jv::get(d, "order");
    if (!order || !order->IsArray() || order->Empty()) return bad_request("order must be a non-empty array of provider ids");
    std::vector<config::Provider> changed;
    int priority = 10;
    for (const auto& id : order->GetArray()) {
      if (!id.IsString()) return bad_request("order must list provider ids");
      auto p = load(app, id.GetString());
      if (!p) return p.error().empty() ? not_found("provider " + std::string(id.GetString())) : storage_error(p.error());
      p.value().priority = priority;
      priority += 10;
      changed.push_back(std::move(p.value()));
    }
    std::vector<std::string> argv{"HSET", schema::kProviders};
    for (const auto& p : changed) {
      argv.push_back(p.id);
      argv.push_back(schema::to_json(p));
    }
    if (auto s = app.redis.run(argv); !s) return storage_error(s.error());  // one command: all or nothing
    app.notify_change("provider");
    return ok_raw("{\"ok\":true}");
  });

  r.route("GET", "/api/templates", Access::kRead, "", [](const Call&) {
    std::string body = "{\"templates\":[";
    bool first = true;
    for (const auto& t : vendors::TemplateTable::builtin().all()) {
      body += std::string(first ? "" : ",") + "{\"id\":" + json::quote(t.id) + ",\"name\":" + json::quote(t.name) +
              ",\"dialect\":" + json::quote(t.dialect) + ",\"base_url\":" + json::quote(t.base_url) +
              ",\"free_tier_documented\":" + (t.free_tier_documented ? "true" : "false") + ",\"models\":[";
      for (size_t i = 0; i < t.models.size(); ++i) body += std::string(i ? "," : "") + json::quote(t.models[i].name);
      body += "]}";
      first = false;
    }
    return ok_raw(body + "]}");
  });

  // One template in full: what a provider made from it gets, its free tier, error signatures and
  // balance endpoint (the console's "add from a template" preview).
  r.route("GET", "/api/templates/([A-Za-z0-9_.-]{1,64})", Access::kRead, "", [](const Call& c) {
    const vendors::Template* t = vendors::TemplateTable::builtin().find(std::string(c.req.matches[1]));
    if (!t) return not_found("template " + std::string(c.req.matches[1]));
    auto strings = [](const std::vector<std::string>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + json::quote(v[i]);
      return s + "]";
    };
    auto object = [](const std::map<std::string, std::string>& m) {
      std::string s = "{";
      for (const auto& [k, v] : m) s += (s.size() > 1 ? "," : "") + json::quote(k) + ":" + json::quote(v);
      return s + "}";
    };
    std::string models = "[";
    for (size_t i = 0; i < t->models.size(); ++i)
      models += std::string(i ? "," : "") + "{\"name\":" + json::quote(t->models[i].name) + ",\"upstream\":" + json::quote(t->models[i].upstream) + "}";
    return ok_raw("{\"id\":" + json::quote(t->id) + ",\"name\":" + json::quote(t->name) + ",\"dialect\":" + json::quote(t->dialect) +
                  ",\"auth\":" + json::quote(t->auth) + ",\"base_url\":" + json::quote(t->base_url) +
                  ",\"alt_base_urls\":" + object(t->alt_base_urls) + ",\"headers\":" + object(t->headers) + ",\"models\":" + models +
                  "],\"drop_params\":" + strings(t->drop_params) + ",\"rename_params\":" + object(t->rename_params) +
                  ",\"max_output_tokens\":" + std::to_string(t->max_output_tokens) +
                  ",\"replay_reasoning\":" + (t->replay_reasoning ? "true" : "false") +
                  ",\"responses_api\":" + (t->responses_api ? "true" : "false") + ",\"notes\":" + json::quote(t->quirk_notes) +
                  ",\"free_tier\":{\"documented\":" + (t->free_tier_documented ? "true" : "false") +
                  ",\"quotas\":" + strings(t->free_tier_quotas) + ",\"note\":" + json::quote(t->free_tier_note) +
                  ",\"source\":" + json::quote(t->free_tier_source) + "},\"error_signatures\":" + strings(t->error_signatures) +
                  ",\"balance\":{\"kind\":" + json::quote(t->balance_kind) + ",\"url\":" + json::quote(t->balance_url) +
                  ",\"note\":" + json::quote(t->balance_note) + "}}");
  });
}

}  // namespace lingmo::cp
