// Alert channels and rules, test-send and delivery history:
//   GET/POST /api/alerts/channels, PUT/DELETE /api/alerts/channels/{id}, POST /api/alerts/channels/{id}/test
//   GET/POST /api/alerts/rules, PUT/DELETE /api/alerts/rules/{id}, POST /api/alerts/rules/{id}/digest-now
//   GET /api/alerts/deliveries?channel=&limit=
// Webhook URLs (they carry the token), signing secrets and SMTP passwords are sealed like vendor
// keys and never shown again: the API shows the URL's scheme and host only.
#include <algorithm>
#include <chrono>
#include <tuple>

#include "alert_digest.h"
#include "clock.h"
#include "alerts.h"
#include "api.h"
#include "crypto/crypto.h"
#include "quota/tz.h"
#include "translate/jsonv.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;
using rapidjson::Value;


// "https://oapi.dingtalk.com/…": scheme and host only — webhook tokens hide in the path, the
// query, the fragment or the user info.
std::string url_head(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "…";
  size_t start = scheme + 3, end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, start) + authority + "/…";
}

template <class F>
bool is_one_of(const std::string& v, const F& list) {
  return std::any_of(std::begin(list), std::end(list), [&](const char* x) { return v == x; });
}

std::string channel_view(App& app, const std::string& json) {
  rapidjson::Document c;
  c.Parse(json.c_str());
  if (c.HasParseError() || !c.IsObject()) return "null";
  auto& a = c.GetAllocator();
  std::string id = json::get_string(c, "id");
  if (std::string sealed = json::get_string(c, "url_sealed"); !sealed.empty()) {
    auto url = app.secret.decrypt(sealed, channel_aad(id));
    jv::add(c, "url", url ? url_head(url.value()) : std::string("(sealed with another secret key)"), a);
  }
  c.AddMember("has_secret", !json::get_string(c, "secret_sealed").empty() || !json::get_string(c, "smtp_password_sealed").empty(), a);
  for (const char* k : kChannelSealedFields) c.RemoveMember(k);
  return jv::stringify(c);
}

// Applies a channel body to `c` (new or stored). False with `error` on bad input.
bool apply_channel(App& app, const Value& body, rapidjson::Document& c, std::string& error) {
  auto& a = c.GetAllocator();
  std::string id = json::get_string(c, "id");
  auto set_str = [&](const char* k, std::string v) {
    c.RemoveMember(k);
    jv::add(c, k, v, a);
  };
  auto seal = [&](const char* k, const std::string& v) { set_str(k, v.empty() ? v : app.secret.encrypt(v, channel_aad(id))); };
  for (const char* k : {"name", "type", "url", "secret", "chat_id", "smtp_user", "smtp_password", "from"})
    if (const Value* v = jv::get(body, k); v && !v->IsString()) return error = std::string(k) + " must be a string", false;
  if (body.HasMember("name")) set_str("name", json::get_string(body, "name"));
  std::string old_type = json::get_string(c, "type");
  if (body.HasMember("type")) set_str("type", json::get_string(body, "type"));
  std::string type = json::get_string(c, "type");
  if (!old_type.empty() && old_type != type) {  // a new kind of channel: its old address means nothing
    if (!body.HasMember("url")) return error = "changing the type needs a new url", false;
    c.RemoveMember("url");
    c.RemoveMember("url_sealed");
  }
  if (!is_one_of(type, kChannelTypes))
    return error = "type must be one of webhook, dingtalk, feishu, wecom, slack, telegram, email", false;
  if (const Value* url = jv::get(body, "url")) {
    std::string u = url->GetString();
    bool smtp = u.rfind("smtp://", 0) == 0 || u.rfind("smtps://", 0) == 0;
    bool http = u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0;
    if (type == "email" ? !smtp : !http)
      return error = type == "email" ? "an e-mail channel's url is the SMTP server: smtp://host:587 or smtps://host:465"
                                     : "url must start with http:// or https://", false;
    size_t host = u.find("://") + 3;
    if (type == "email" && u.find('@', host) < u.find_first_of("/?#", host))
      return error = "put the SMTP account in smtp_user and smtp_password, not in the url (it would be stored in clear)", false;
    if (type == "email") set_str("url", u);
    else seal("url_sealed", u);
  }
  if (body.HasMember("secret")) seal("secret_sealed", json::get_string(body, "secret"));
  if (body.HasMember("smtp_password")) seal("smtp_password_sealed", json::get_string(body, "smtp_password"));
  for (const char* k : {"chat_id", "smtp_user", "from"})
    if (body.HasMember(k)) set_str(k, json::get_string(body, k));
  if (const Value* to = jv::get(body, "to")) {
    if (!to->IsArray()) return error = "to must be an array of addresses", false;
    for (const auto& t : to->GetArray())
      if (!t.IsString() || std::string(t.GetString()).find('@') == std::string::npos || std::string(t.GetString()).find_first_of("\r\n<> ") != std::string::npos)
        return error = "to must be an array of e-mail addresses", false;
    c.RemoveMember("to");
    c.AddMember("to", Value(*to, a), a);
  }
  if (const Value* e = jv::get(body, "enabled")) {
    if (!e->IsBool()) return error = "enabled must be true or false", false;
    c.RemoveMember("enabled");
    c.AddMember("enabled", e->GetBool(), a);
  }
  if (!c.HasMember("enabled")) c.AddMember("enabled", true, a);
  if (type == "email") {
    const Value* to = jv::get(c, "to");
    if (json::get_string(c, "url").empty() || json::get_string(c, "from").empty() || !to || !to->IsArray() || to->Empty())
      return error = "an e-mail channel needs url (the SMTP server), from and at least one address in to", false;
    std::string from = json::get_string(c, "from");
    if (from.find('@') == std::string::npos || from.find_first_of("\r\n<> ") != std::string::npos)
      return error = "from must be one e-mail address", false;
  } else if (json::get_string(c, "url_sealed").empty()) {
    return error = "url is required", false;
  }
  if (type == "telegram" && json::get_string(c, "chat_id").empty()) return error = "a telegram channel needs chat_id", false;
  return true;
}

Reply list_of(App& app, const char* hash, const char* name, bool channels) {
  auto all = app.redis.hgetall(hash);
  if (!all) return storage_error(all.error());
  std::string body = std::string("{\"") + name + "\":[";
  bool first = true;
  for (const auto& [id, json] : all.value()) {
    body += (first ? "" : ",") + (channels ? channel_view(app, json) : json);
    first = false;
  }
  return ok_raw(body + "]}");
}

// The fields of the balance sync's events: balance_low needs min_balance (in the watched
// provider's currency), sync_failing takes failures (in a row, default 3); both may name one
// provider. Other events carry none of them.
bool apply_balance_fields(const Value& body, rapidjson::Document& r, std::string& error) {
  auto& a = r.GetAllocator();
  std::string event = json::get_string(r, "event");
  bool low = event == "balance_low", failing = event == "sync_failing";
  const Value* min = jv::get(body, "min_balance");
  const Value* failures = jv::get(body, "failures");
  const Value* provider = jv::get(body, "provider");
  if (min && (!low || !min->IsNumber())) return error = low ? "min_balance must be a number" : "min_balance applies to balance_low rules only", false;
  if (failures && (!failing || !failures->IsInt64() || failures->GetInt64() < 1 || failures->GetInt64() > 1000))
    return error = failing ? "failures must be a whole number from 1 to 1000" : "failures applies to sync_failing rules only", false;
  if (provider && (!(low || failing) || !provider->IsString()))
    return error = low || failing ? "provider must be a provider id" : "provider applies to balance_low and sync_failing rules only", false;
  for (auto [k, v, keep] : {std::tuple{"min_balance", min, low}, std::tuple{"failures", failures, failing},
                            std::tuple{"provider", provider, low || failing}}) {
    if (v || !keep) r.RemoveMember(k);  // replaced, or meaningless for the (new) event
    if (v) r.AddMember(Value(k, a), Value(*v, a), a);
  }
  if (low && !r.HasMember("min_balance")) return error = "a balance_low rule needs min_balance (alert when a balance is below it)", false;
  if (failing && !r.HasMember("failures")) r.AddMember("failures", 3, a);
  return true;
}

bool apply_rule(App& app, const Value& body, rapidjson::Document& r, std::string& error) {
  auto& a = r.GetAllocator();
  if (const Value* e = jv::get(body, "event")) {
    if (!e->IsString() || !is_one_of(e->GetString(), kAlertEvents)) {
      error = "event must be one of";
      for (const char* k : kAlertEvents) error += std::string(k == kAlertEvents[0] ? " " : ", ") + k;
      return false;
    }
    r.RemoveMember("event");
    jv::add(r, "event", jv::sv(e), a);
  }
  if (json::get_string(r, "event").empty()) return error = "event is required", false;
  // A digest is sent at a time of day: "at" (HH:MM) in "tz". Other events have neither.
  bool digest = json::get_string(r, "event") == "digest";
  for (const char* k : {"at", "tz"}) {
    const Value* v = jv::get(body, k);
    if (v && !digest) return error = "at and tz apply to digest rules only", false;
    if (v && !v->IsString()) return error = std::string(k) + " must be a string", false;
    if (!digest) r.RemoveMember(k);  // the event changed: its time of day means nothing now
  }
  if (digest) {
    if (const Value* at = jv::get(body, "at"); at && digest_minute(at->GetString()) < 0)
      return error = "at must be a time of day HH:MM, 00:00 to 23:59", false;
    if (const Value* tz = jv::get(body, "tz"); tz && !quota::TimeZone::load(tz->GetString()))
      return error = "tz must be an IANA time zone name such as Asia/Shanghai (or UTC)", false;
  }
  if (!apply_balance_fields(body, r, error)) return false;
  if (const Value* ch = jv::get(body, "channels")) {
    if (!ch->IsArray() || ch->Empty()) return error = "channels must be a non-empty array of channel ids", false;
    for (const auto& c : ch->GetArray()) {
      if (!c.IsString()) return error = "channels must be a non-empty array of channel ids", false;
      auto exists = app.redis.run({"HEXISTS", kAlertChannels, c.GetString()});
      if (!exists || exists.value()->integer == 0) return error = std::string("no channel ") + c.GetString(), false;
    }
    r.RemoveMember("channels");
    r.AddMember("channels", Value(*ch, a), a);
  }
  if (!jv::get(r, "channels")) return error = "channels is required", false;
  if (const Value* cd = jv::get(body, "cooldown_s")) {
    if (!cd->IsInt64() || cd->GetInt64() < 60 || cd->GetInt64() > 7 * 86400) return error = "cooldown_s must be 60..604800", false;
    r.RemoveMember("cooldown_s");
    r.AddMember("cooldown_s", cd->GetInt64(), a);
  }
  if (!r.HasMember("cooldown_s")) r.AddMember("cooldown_s", 1800, a);
  if (const Value* e = jv::get(body, "enabled")) {
    if (!e->IsBool()) return error = "enabled must be true or false", false;
    r.RemoveMember("enabled");
    r.AddMember("enabled", e->GetBool(), a);
  }
  if (!r.HasMember("enabled")) r.AddMember("enabled", true, a);
  if (digest)  // stored last, so a rule reads id, event, channels, ..., then its time of day
    for (auto [k, def] : {std::pair{"at", kDigestDefaultAt}, std::pair{"tz", "UTC"}}) {
      std::string v = json::get_string(body, k, json::get_string(r, k, def));
      r.RemoveMember(k);
      jv::add(r, k, v, a);
    }
  return true;
}

// Shared create/update for channels and rules: {id} from the path for updates, a new id for creates.
Reply upsert(App& app, const Call& c, const char* hash, const std::string& path_id, bool channel) {
  rapidjson::Document body;
  Reply err;
  if (!parse_body(c, body, err)) return err;
  rapidjson::Document item;
  std::string id = path_id;
  if (!id.empty()) {
    auto stored = app.redis.get_string({"HGET", hash, id});
    if (!stored) return storage_error(stored.error());
    if (stored.value().empty()) return not_found(std::string(channel ? "channel " : "rule ") + id);
    item.Parse(stored.value().c_str());
  } else {
    id = crypto::to_hex(crypto::random_bytes(4));
    item.SetObject();
    jv::add(item, "id", id, item.GetAllocator());
  }
  std::string error;
  if (!(channel ? apply_channel(app, body, item, error) : apply_rule(app, body, item, error))) return bad_request(error);
  std::string json = jv::stringify(item);
  if (auto w = app.redis.run({"HSET", hash, id, json}); !w) return storage_error(w.error());
  return ok_raw(channel ? channel_view(app, json) : json, path_id.empty() ? 201 : 200);
}

Reply remove(App& app, const char* hash, const std::string& id, const char* what) {
  auto del = app.redis.run({"HDEL", hash, id});
  if (!del) return storage_error(del.error());
  if (del.value()->integer == 0) return not_found(std::string(what) + " " + id);
  return ok_raw("{\"ok\":true}");
}

}  // namespace

void register_alert_routes(Router& r, Dispatcher& dispatcher) {
  App& app = r.app();
  const std::string id_re = "([0-9a-f]{8})";
  r.route("GET", "/api/alerts/channels", Access::kRead, "", [&app](const Call&) { return list_of(app, kAlertChannels, "channels", true); });
  r.route("POST", "/api/alerts/channels", Access::kWrite, "alert.channel.add",
          [&app](const Call& c) { return upsert(app, c, kAlertChannels, "", true); });
  r.route("PUT", "/api/alerts/channels/" + id_re, Access::kWrite, "alert.channel.update",
          [&app](const Call& c) { return upsert(app, c, kAlertChannels, c.req.matches[1], true); });
  r.route("DELETE", "/api/alerts/channels/" + id_re, Access::kWrite, "alert.channel.delete", [&app](const Call& c) {
    std::string id = c.req.matches[1];
    auto rules = app.redis.hgetall(kAlertRules);
    if (!rules) return storage_error(rules.error());
    std::string users;
    for (const auto& [rid, json] : rules.value())
      if (json.find("\"" + id + "\"") != std::string::npos && json.find("\"channels\"") != std::string::npos) users += (users.empty() ? "" : ", ") + rid;
    if (!users.empty()) return error_reply(409, "in_use", "channel " + id + " is used by rule(s) " + users + "; change or delete them first");
    return remove(app, kAlertChannels, id, "channel");
  });
  r.route("POST", "/api/alerts/channels/" + id_re + "/test", Access::kWrite, "alert.channel.test", [&app, &dispatcher](const Call& c) {
    auto stored = app.redis.get_string({"HGET", kAlertChannels, c.req.matches[1]});
    if (!stored) return storage_error(stored.error());
    if (stored.value().empty()) return not_found("channel " + std::string(c.req.matches[1]));
    alerts::Event e{"test", "info", "LingMo test alert", "If you can read this, the channel works.", "", "", epoch_ms()};
    DeliveryResult res = dispatcher.send_now(stored.value(), e);
    return ok_raw("{\"ok\":" + std::string(res.ok ? "true" : "false") + ",\"status\":" + std::to_string(res.status) +
                  ",\"latency_ms\":" + std::to_string(res.latency_ms) + ",\"error\":" + json::quote(res.error) + "}");
  });
  r.route("GET", "/api/alerts/rules", Access::kRead, "", [&app](const Call&) { return list_of(app, kAlertRules, "rules", false); });
  r.route("POST", "/api/alerts/rules", Access::kWrite, "alert.rule.add", [&app](const Call& c) { return upsert(app, c, kAlertRules, "", false); });
  r.route("PUT", "/api/alerts/rules/" + id_re, Access::kWrite, "alert.rule.update",
          [&app](const Call& c) { return upsert(app, c, kAlertRules, c.req.matches[1], false); });
  r.route("DELETE", "/api/alerts/rules/" + id_re, Access::kWrite, "alert.rule.delete",
          [&app](const Call& c) { return remove(app, kAlertRules, c.req.matches[1], "rule"); });
  // A digest rule's message now, to its channels and in the answer (a preview); today's scheduled
  // digest is not affected.
  r.route("POST", "/api/alerts/rules/" + id_re + "/digest-now", Access::kWrite, "alert.rule.digest_now", [&app, &dispatcher](const Call& c) {
    std::string id = c.req.matches[1];
    auto stored = app.redis.get_string({"HGET", kAlertRules, id});
    if (!stored) return storage_error(stored.error());
    if (stored.value().empty()) return not_found("rule " + id);
    rapidjson::Document rule;
    rule.Parse(stored.value().c_str());
    if (json::get_string(rule, "event") != "digest") return bad_request("rule " + id + " is not a digest rule");
    auto zone = quota::TimeZone::load(json::get_string(rule, "tz", "UTC"));
    alerts::Event e = build_digest(app.redis, epoch_ms(), zone ? *zone.value() : *quota::TimeZone::utc());
    size_t queued = 0;
    if (const Value* ch = jv::get(rule, "channels"); ch && ch->IsArray())
      for (const auto& channel : ch->GetArray())
        if (channel.IsString()) dispatcher.enqueue(channel.GetString(), e), ++queued;
    return ok_raw("{\"queued\":" + std::to_string(queued) + ",\"title\":" + json::quote(e.title) + ",\"text\":" + json::quote(e.text) + "}");
  });
  r.route("GET", "/api/alerts/deliveries", Access::kRead, "", [&app](const Call& c) {
    size_t limit = 50;
    try {
      if (c.req.has_param("limit")) limit = std::min<size_t>(1000, std::stoul(c.req.get_param_value("limit")));
    } catch (const std::exception&) {
    }
    std::string channel = c.req.get_param_value("channel");
    auto rep = app.redis.run({"LRANGE", kAlertDeliveries, "0", "999"});
    if (!rep) return storage_error(rep.error());
    std::string body = "{\"deliveries\":[";
    size_t n = 0;
    for (size_t i = 0; i < rep.value()->elements && n < limit; ++i) {
      std::string e(rep.value()->element[i]->str, rep.value()->element[i]->len);
      if (!channel.empty() && e.find("\"channel\":" + json::quote(channel)) == std::string::npos) continue;
      body += (n++ ? "," : "") + e;
    }
    return ok_raw(body + "]}");
  });
}

}  // namespace lingmo::cp
