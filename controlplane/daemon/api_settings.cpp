// System settings: GET /api/settings, PUT /api/settings, and the brief's POST /api/switch/rule
// (the switching rule: global threshold, auto-switch, pinned provider, warning levels, and
// per-provider thresholds). Changes reach every nginx worker within a second.
#include <sstream>

#include "api.h"
#include "config/schema.h"
#include "translate/jsonv.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;
using rapidjson::Value;

std::string settings_json(const config::Settings& s) {
  std::string levels = "[";
  for (size_t i = 0; i < s.warn_levels.size(); ++i) {
    std::ostringstream os;
    os << s.warn_levels[i];
    levels += (i ? "," : "") + os.str();
  }
  std::ostringstream t;
  t << s.threshold;
  return "{\"threshold\":" + t.str() + ",\"auto_switch\":" + (s.auto_switch ? "true" : "false") +
         ",\"pin\":" + (s.pin.empty() ? std::string("null") : json::quote(s.pin)) + ",\"warn_levels\":" + levels +
         "],\"gateway_url\":" + (s.gateway_url.empty() ? std::string("null") : json::quote(s.gateway_url)) + "}";
}

// Applies the settings fields of `body` to the stored hash; 400 on a bad value.
Reply update_settings(App& app, const Value& body) {
  std::map<std::string, std::string> fields;
  std::vector<std::string> del;
  if (const Value* v = jv::get(body, "threshold")) {
    if (!v->IsNumber() || !(v->GetDouble() > 0 && v->GetDouble() <= 1)) return bad_request("threshold must be a number in (0, 1]");
    std::ostringstream os;
    os << v->GetDouble();
    fields["threshold"] = os.str();
  }
  if (const Value* v = jv::get(body, "auto_switch")) {
    if (!v->IsBool()) return bad_request("auto_switch must be true or false");
    fields["auto_switch"] = v->GetBool() ? "1" : "0";
  }
  if (body.HasMember("pin")) {
    const Value& v = body["pin"];
    if (v.IsNull() || (v.IsString() && !v.GetStringLength())) del.push_back("pin");
    else if (!v.IsString()) return bad_request("pin must be a provider id or null");
    else {
      // A pin on a provider that does not exist would silently do nothing.
      auto exists = app.redis.run({"HEXISTS", schema::kProviders, v.GetString()});
      if (!exists) return storage_error(exists.error());
      if (exists.value()->integer != 1) return bad_request("pin: no provider " + std::string(v.GetString()));
      fields["pin"] = v.GetString();
    }
  }
  if (body.HasMember("gateway_url")) {
    const Value& v = body["gateway_url"];
    if (v.IsNull() || (v.IsString() && !v.GetStringLength())) {
      del.push_back("gateway_url");
    } else {
      std::vector<std::string> warnings;
      if (v.IsString()) schema::settings_from_hash({{"gateway_url", v.GetString()}}, &warnings);
      if (!v.IsString() || !warnings.empty()) return bad_request("gateway_url must be an http:// or https:// URL (or null)");
      fields["gateway_url"] = v.GetString();
    }
  }
  if (const Value* v = jv::get(body, "warn_levels")) {
    if (!v->IsArray()) return bad_request("warn_levels must be an array of shares, e.g. [0.8, 0.95]");
    std::string joined;
    for (const auto& x : v->GetArray()) {
      if (!x.IsNumber()) return bad_request("warn_levels must be an array of shares, e.g. [0.8, 0.95]");
      std::ostringstream os;
      os << x.GetDouble();
      joined += (joined.empty() ? "" : ",") + os.str();
    }
    std::vector<std::string> warnings;
    schema::settings_from_hash({{"warn_levels", joined}}, &warnings);
    if (!warnings.empty()) return bad_request(warnings.front());
    fields["warn_levels"] = joined;
  }
  if (!fields.empty()) {
    std::vector<std::string> argv{"HSET", schema::kSettings};
    for (const auto& [k, v] : fields) {
      argv.push_back(k);
      argv.push_back(v);
    }
    if (auto r = app.redis.run(argv); !r) return storage_error(r.error());
  }
  for (const auto& k : del)
    if (auto r = app.redis.run({"HDEL", schema::kSettings, k}); !r) return storage_error(r.error());
  return Reply{};
}

Reply current(App& app) {
  auto h = app.redis.hgetall(schema::kSettings);
  if (!h) return storage_error(h.error());
  return ok_raw(settings_json(schema::settings_from_hash(h.value(), nullptr)));
}

}  // namespace

void register_settings_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/settings", Access::kRead, "", [&app](const Call&) { return current(app); });

  r.route("PUT", "/api/settings", Access::kWrite, "settings.update", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    if (Reply rep = update_settings(app, d); rep.status != 200) return rep;
    app.notify_change("settings");
    return current(app);
  });

  // The brief's switch rule: the settings above plus {"providers": {"id": threshold|null}}.
  r.route("POST", "/api/switch/rule", Access::kWrite, "settings.switch_rule", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    std::vector<std::pair<std::string, std::string>> provider_updates;
    if (const Value* per = jv::get(d, "providers")) {
      if (!per->IsObject()) return bad_request("providers must map provider ids to thresholds");
      for (const auto& m : per->GetObject()) {
        std::string id = m.name.GetString();
        auto stored = app.redis.get_string({"HGET", schema::kProviders, id});
        if (!stored) return storage_error(stored.error());
        auto p = schema::provider_from_json(stored.value());
        if (stored.value().empty() || !p) return not_found("provider " + id);
        if (m.value.IsNull()) p.value().threshold = 0;  // back to the global threshold
        else if (m.value.IsNumber() && m.value.GetDouble() > 0 && m.value.GetDouble() <= 1) p.value().threshold = m.value.GetDouble();
        else return bad_request("a provider threshold is a number in (0, 1] or null");
        provider_updates.emplace_back(id, schema::to_json(p.value()));
      }
    }
    if (Reply rep = update_settings(app, d); rep.status != 200) return rep;
    if (!provider_updates.empty()) {
      std::vector<std::string> argv{"HSET", schema::kProviders};
      for (const auto& [id, json] : provider_updates) {
        argv.push_back(id);
        argv.push_back(json);
      }
      if (auto s = app.redis.run(argv); !s) return storage_error(s.error());
    }
    app.notify_change("settings");
    return current(app);
  });
}

}  // namespace lingmo::cp
