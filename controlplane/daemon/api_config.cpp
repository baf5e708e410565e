// Configuration export and import (the brief's "migration"):
//   GET  /api/config/export[?include_secrets=1]  providers (vendor keys sealed, or in plain text
//        with include_secrets — admin only, audited), gateway keys (hashes only: the secrets were
//        never stored), settings, alert channels (URLs, signing secrets and SMTP passwords sealed,
//        or in plain text with include_secrets) and alert rules; plus the id of the secret key that
//        sealed them.
//   POST /api/config/import  the same document. Idempotent and resumable: every item is keyed
//        (provider id, key hash, setting name) and written only when different, so re-running an
//        import that stopped half way finishes it and duplicates nothing. Reports what it did.
#include <chrono>

#include "alerts.h"
#include "api.h"
#include "clock.h"
#include "config/schema.h"
#include "translate/jsonv.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;
using rapidjson::Value;

// "url_sealed" -> "url_plain": the field a plain export carries instead of the sealed one.
std::string plain_name(const char* sealed_field) {
  std::string f = sealed_field;
  return f.substr(0, f.size() - 7) + "_plain";
}

bool is_hex8(const std::string& s) {
  return s.size() == 8 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

template <size_t N>
bool one_of(const std::string& s, const char* const (&list)[N]) {
  for (const char* x : list)
    if (s == x) return true;
  return false;
}

}  // namespace

void register_config_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/config/export", Access::kWrite, "config.export", [&app](const Call& c) {
    bool plain = c.req.get_param_value("include_secrets") == "1";
    auto providers = app.redis.hgetall(schema::kProviders);
    auto keys = app.redis.hgetall(schema::kGatewayKeys);
    auto settings = app.redis.hgetall(schema::kSettings);
    if (!providers || !keys || !settings) return storage_error("cannot read the configuration");
    rapidjson::Document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    out.AddMember("lingmo_export", 1, a);
    out.AddMember("exported_at", epoch_ms(), a);
    jv::add(out, "secret_key_id", app.secret.id(), a);
    Value list(rapidjson::kArrayType);
    for (const auto& [id, json] : providers.value()) {
      rapidjson::Document p;
      p.Parse(json.c_str());
      if (p.HasParseError() || !p.IsObject()) continue;
      if (plain) {
        std::string sealed = json::get_string(p, "api_key_sealed");
        p.RemoveMember("api_key_sealed");
        if (!sealed.empty())
          if (auto k = app.secret.decrypt(sealed, id)) jv::add(p, "api_key", k.value(), p.GetAllocator());
      }
      list.PushBack(Value(p, a), a);
    }
    out.AddMember("providers", list, a);
    Value klist(rapidjson::kArrayType);
    for (const auto& [hash, json] : keys.value()) {
      Value k(rapidjson::kObjectType);
      jv::add(k, "hash", hash, a);
      rapidjson::Document v;
      v.Parse(json.c_str());
      if (!v.HasParseError()) k.AddMember("value", Value(v, a), a);
      klist.PushBack(k, a);
    }
    out.AddMember("gateway_keys", klist, a);
    Value s(rapidjson::kObjectType);
    for (const auto& [k, v] : settings.value()) s.AddMember(jv::str(k, a), jv::str(v, a), a);
    out.AddMember("settings", s, a);
    auto channels = app.redis.hgetall(kAlertChannels);
    auto rules = app.redis.hgetall(kAlertRules);
    if (!channels || !rules) return storage_error("cannot read the alert configuration");
    Value clist(rapidjson::kArrayType);
    for (const auto& [id, json] : channels.value()) {
      rapidjson::Document ch;
      ch.Parse(json.c_str());
      if (ch.HasParseError() || !ch.IsObject()) continue;
      if (plain)
        for (const char* f : kChannelSealedFields) {
          std::string sealed = json::get_string(ch, f);
          ch.RemoveMember(f);
          if (!sealed.empty())
            if (auto v = app.secret.decrypt(sealed, channel_aad(id))) jv::add(ch, plain_name(f).c_str(), v.value(), ch.GetAllocator());
        }
      clist.PushBack(Value(ch, a), a);
    }
    out.AddMember("alert_channels", clist, a);
    Value rlist(rapidjson::kArrayType);
    for (const auto& [id, json] : rules.value()) {
      rapidjson::Document rule;
      rule.Parse(json.c_str());
      if (!rule.HasParseError() && rule.IsObject()) rlist.PushBack(Value(rule, a), a);
    }
    out.AddMember("alert_rules", rlist, a);
    return ok_json(out);
  });

  r.route("POST", "/api/config/import", Access::kWrite, "config.import", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    if (json::get_int(d, "lingmo_export", 0) != 1) return bad_request("not a LingMo export (lingmo_export: 1 missing)");
    bool same_key = json::get_string(d, "secret_key_id") == app.secret.id();
    int created = 0, updated = 0, unchanged = 0;
    std::string failed = "[";
    auto fail = [&](const std::string& what, const std::string& why) {
      failed += std::string(failed.size() > 1 ? "," : "") + "{\"item\":" + json::quote(what) + ",\"error\":" + json::quote(why) + "}";
    };
    auto write = [&](const char* hash, const std::string& field, const std::string& value, const std::string& what) {
      auto cur = app.redis.get_string({"HGET", hash, field});
      if (!cur) return fail(what, cur.error());
      if (cur.value() == value) return void(++unchanged);
      if (auto w = app.redis.run({"HSET", hash, field, value}); !w) return fail(what, w.error());
      ++(cur.value().empty() ? created : updated);
    };
    if (const Value* list = jv::get(d, "providers"); list && list->IsArray())
      for (const auto& item : list->GetArray()) {
        rapidjson::Document p;
        p.CopyFrom(item, p.GetAllocator());
        std::string id = json::get_string(p, "id");
        if (const Value* plain = jv::get(p, "api_key"); plain && plain->IsString()) {
          // Sealing uses a fresh nonce: keep the stored sealed value when it holds the same key,
          // or every re-run would rewrite (and report) every provider.
          std::string sealed;
          if (auto cur = app.redis.get_string({"HGET", schema::kProviders, id}); cur && !cur.value().empty())
            if (auto stored = schema::provider_from_json(cur.value()); stored && !stored.value().api_key_sealed.empty())
              if (auto k = app.secret.decrypt(stored.value().api_key_sealed, id); k && k.value() == jv::sv(plain))
                sealed = stored.value().api_key_sealed;
          if (sealed.empty()) sealed = app.secret.encrypt(jv::sv(plain), id);
          p.RemoveMember("api_key");
          jv::add(p, "api_key_sealed", sealed, p.GetAllocator());
        } else if (!json::get_string(p, "api_key_sealed").empty() && !same_key) {
          fail("provider " + id, "its key is sealed with another secret key; export with include_secrets=1 or use the same key");
          continue;
        }
        auto parsed = schema::provider_from_json(jv::stringify(p));
        if (!parsed) {
          fail("provider " + id, parsed.error());
          continue;
        }
        write(schema::kProviders, id, schema::to_json(parsed.value()), "provider " + id);
      }
    if (const Value* list = jv::get(d, "gateway_keys"); list && list->IsArray())
      for (const auto& item : list->GetArray()) {
        std::string hash = json::get_string(item, "hash");
        const Value* v = jv::get(item, "value");
        auto k = v ? schema::gateway_key_from_json(hash, jv::stringify(*v)) : Result<config::GatewayKey>::fail("no value");
        if (hash.size() != 64 || !k) {
          fail("gateway key " + hash.substr(0, 8), k ? "bad hash" : k.error());
          continue;
        }
        write(schema::kGatewayKeys, hash, schema::to_json(k.value()), "gateway key " + hash.substr(0, 8));
      }
    if (const Value* s = jv::get(d, "settings"); s && s->IsObject())
      for (const auto& m : s->GetObject()) {
        std::string name = m.name.GetString();
        std::vector<std::string> warnings;
        if (m.value.IsString()) schema::settings_from_hash({{name, m.value.GetString()}}, &warnings);
        if (!m.value.IsString() || (name != "threshold" && name != "auto_switch" && name != "pin" && name != "warn_levels" &&
                                  name != "gateway_url"))
          fail("setting " + name, "unknown setting");
        else if (!warnings.empty())
          fail("setting " + name, warnings.front());
        else if (name == "auto_switch" && std::string(m.value.GetString()) != "0" && std::string(m.value.GetString()) != "1")
          fail("setting " + name, "auto_switch is stored as 1 or 0");
        else
          write(schema::kSettings, name, m.value.GetString(), "setting " + name);
      }
    if (const Value* list = jv::get(d, "alert_channels"); list && list->IsArray())
      for (const auto& item : list->GetArray()) {
        rapidjson::Document ch;
        ch.CopyFrom(item, ch.GetAllocator());
        std::string id = json::get_string(ch, "id");
        if (!ch.IsObject() || !is_hex8(id) || !one_of(json::get_string(ch, "type"), kChannelTypes)) {
          fail("alert channel " + id, "needs an 8-hex id and a known type");
          continue;
        }
        auto cur = app.redis.get_string({"HGET", kAlertChannels, id});
        rapidjson::Document stored;
        if (cur && !cur.value().empty()) stored.Parse(cur.value().c_str());
        bool ok = true;
        for (const char* f : kChannelSealedFields) {
          std::string pname = plain_name(f);
          if (const Value* v = jv::get(ch, pname.c_str()); v && v->IsString()) {
            // Same as for vendor keys: keep the stored sealed value when it holds the same secret.
            std::string sealed = stored.IsObject() ? json::get_string(stored, f) : "";
            auto old = sealed.empty() ? Result<std::string>::fail("") : app.secret.decrypt(sealed, channel_aad(id));
            if (!old || old.value() != jv::sv(v)) sealed = app.secret.encrypt(jv::sv(v), channel_aad(id));
            ch.RemoveMember(pname.c_str());
            ch.RemoveMember(f);
            jv::add(ch, f, sealed, ch.GetAllocator());
          } else if (!json::get_string(ch, f).empty() && !same_key) {
            ok = false;
          }
        }
        if (!ok) {
          fail("alert channel " + id, "its secrets are sealed with another secret key; export with include_secrets=1 or use the same key");
          continue;
        }
        write(kAlertChannels, id, jv::stringify(ch), "alert channel " + id);
      }
    if (const Value* list = jv::get(d, "alert_rules"); list && list->IsArray())
      for (const auto& item : list->GetArray()) {
        std::string id = json::get_string(item, "id");
        if (!item.IsObject() || !is_hex8(id) || !one_of(json::get_string(item, "event"), kAlertEvents)) {
          fail("alert rule " + id, "needs an 8-hex id and a known event");
          continue;
        }
        write(kAlertRules, id, jv::stringify(item), "alert rule " + id);
      }
    if (created + updated > 0) app.notify_change("import");
    return ok_raw("{\"created\":" + std::to_string(created) + ",\"updated\":" + std::to_string(updated) +
                  ",\"unchanged\":" + std::to_string(unchanged) + ",\"failed\":" + failed + "]}");
  });
}

}  // namespace lingmo::cp
