// GET /api/quota/stat: per provider and rule, the window's use, limit, percent, the burn rate over
// the last hour, when the switch threshold will be reached at that pace, and the next reset; with
// the provider's observed state (parked until when, and why).
// POST /api/quota/{provider}/{rule}/used {"used": N}: manual entry of what a vendor without a
// balance API says is used so far in the current window (in the rule's units; currency for cost).
// GET /metrics: Prometheus text — today's requests, tokens, failures and cost per provider (the
// data plane's usage counters) and each quota rule's used share; vendor balances and plan windows
// from the balance sync.
// POST /api/quota/sync/{provider}: reads the provider's vendor balance now (balance_sync.h).
#include <chrono>
#include <sstream>

#include "api.h"
#include "clock.h"
#include "balance_sync.h"
#include "config/schema.h"
#include "quota/rules.h"
#include "quota/tz.h"
#include "quota_view.h"
#include "usage/ledger.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

std::string label(const std::string& v) {  // Prometheus label value escaping
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void register_quota_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/quota/stat", Access::kRead, "", [&app](const Call&) {
    int64_t now = epoch_ms();
    auto settings = app.redis.hgetall(schema::kSettings);
    if (!settings) return storage_error(settings.error());
    double threshold = schema::settings_from_hash(settings.value(), nullptr).threshold;
    auto rules = read_quota(app.redis, now, threshold);
    if (!rules) return storage_error(rules.error());
    auto states = app.redis.hgetall(schema::kProviderState);
    std::string body = "{\"now\":" + std::to_string(now) + ",\"threshold\":" + json::number(threshold) + ",\"rules\":[";
    for (size_t i = 0; i < rules.value().size(); ++i) {
      const auto& v = rules.value()[i];
      const auto& s = v.stat;
      body += std::string(i ? "," : "") + "{\"provider\":" + json::quote(v.provider_id) + ",\"rule\":" + std::to_string(v.index) +
              ",\"describe\":" + json::quote(v.rule.describe()) + ",\"metric\":" + json::quote(v.rule.metric) +
              ",\"window\":" + json::quote(quota::window_name(v.rule.window)) + ",\"model\":" +
              (v.rule.model.empty() ? std::string("null") : json::quote(v.rule.model)) +
              ",\"used\":" + json::number(quota::limit_to_units(v.rule.metric, s.used)) +
              ",\"limit\":" + json::number(quota::limit_to_units(v.rule.metric, s.limit)) +
              ",\"switch_at\":" + json::number(quota::limit_to_units(v.rule.metric, s.cap)) + ",\"percent\":" + json::number(s.percent) +
              ",\"burn_per_hour\":" + (s.burn_per_hour < 0 ? std::string("null") : json::number(quota::limit_to_units(v.rule.metric, static_cast<int64_t>(s.burn_per_hour)))) +
              ",\"reaches_threshold_at\":" + (s.reaches_cap_ms < 0 ? std::string("null") : std::to_string(s.reaches_cap_ms)) +
              ",\"resets_at\":" + (s.resets_ms == 0 ? std::string("null") : std::to_string(s.resets_ms)) + "}";
    }
    body += "],\"states\":{";
    bool first = true;
    if (states)
      for (const auto& [id, json] : states.value()) {
        auto st = schema::state_from_json(json);
        if (!st || st.value().unusable_until_ms <= now) continue;
        body += std::string(first ? "" : ",") + json::quote(id) + ":{\"until\":" + std::to_string(st.value().unusable_until_ms) +
                ",\"kind\":" + json::quote(st.value().kind) + ",\"reason\":" + json::quote(st.value().reason) + "}";
        first = false;
      }
    // The balance sync's readings (last good values, last attempt's error), one per provider.
    body += "},\"balances\":[";
    if (auto balances = read_balances(app.redis)) {
      first = true;
      for (const auto& [id, record] : balances.value()) {
        body += (first ? "" : ",") + balance_view(id, record);
        first = false;
      }
    }
    // Circuit breakers some nginx worker has open now (breakers are per worker: others may still
    // send to the provider).
    body += "],\"circuits\":{";
    if (auto open = read_open_circuits(app.redis, now)) {
      first = true;
      for (const auto& [id, n] : open.value()) {
        body += std::string(first ? "" : ",") + json::quote(id) + ":{\"since\":" + std::to_string(n.since_ms) +
                ",\"until\":" + std::to_string(n.open_until_ms) + ",\"cause\":" + json::quote(n.cause) + "}";
        first = false;
      }
    }
    return ok_raw(body + "}}");
  });

  r.route("POST", "/api/quota/([A-Za-z0-9_.-]{1,64})/([0-9]{1,3})/used", Access::kWrite, "quota.set_used", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    auto used = d.FindMember("used");
    if (used == d.MemberEnd() || !used->value.IsNumber() || used->value.GetDouble() < 0)
      return bad_request("used must be a number >= 0 (the rule's units; currency for cost rules)");
    std::string id = c.req.matches[1];
    size_t index = std::stoul(c.req.matches[2]);
    auto stored = app.redis.get_string({"HGET", schema::kProviders, id});
    if (!stored) return storage_error(stored.error());
    auto p = schema::provider_from_json(stored.value());
    if (stored.value().empty() || !p) return not_found("provider " + id);
    if (index >= p.value().quotas.size()) return not_found("quota rule " + std::to_string(index) + " of " + id);
    const quota::Rule& rule = p.value().quotas[index];
    auto zone = quota::TimeZone::load(rule.tz);
    if (!zone) return bad_request(zone.error());
    int64_t now = epoch_ms();
    auto span = rule.span(now / 1000, *zone.value());
    std::string key = quota::counter_key(id, index, span.id);
    int64_t value = quota::limit_from_units(rule.metric, used->value.GetDouble());
    if (auto w = app.redis.run({"HSET", key, quota::counter_field(rule.metric), std::to_string(value)}); !w) return storage_error(w.error());
    // Kept an hour past the window's end, as the data plane keeps its own counters.
    if (rule.window != quota::Window::kOneOff) app.redis.run({"EXPIRE", key, std::to_string(span.end_s - now / 1000 + 3600)});
    app.notify_change("quota");
    return ok_raw("{\"provider\":" + json::quote(id) + ",\"rule\":" + std::to_string(index) + ",\"window\":" + json::quote(span.id) +
                  ",\"used\":" + json::number(quota::limit_to_units(rule.metric, value)) + "}");
  });

  r.route("GET", "/metrics", Access::kPublic, "", [&app](const Call&) {
    int64_t now = epoch_ms();
    std::string day = usage::utc_day(now);
    auto providers = app.redis.hgetall(schema::kProviders);
    if (!providers) return storage_error(providers.error());
    std::ostringstream m;
    m << "# HELP lingmo_usage_today Usage counted by the data plane today (UTC), per provider and field.\n"
         "# TYPE lingmo_usage_today gauge\n";
    for (const auto& [id, json] : providers.value()) {
      auto h = app.redis.hgetall(schema::usage_key(id, day));
      if (!h) continue;
      for (const char* f : usage::kFields) {
        auto it = h.value().find(f);
        m << "lingmo_usage_today{provider=\"" << label(id) << "\",field=\"" << f << "\"} " << (it == h.value().end() ? "0" : it->second) << "\n";
      }
    }
    m << "# HELP lingmo_quota_used_ratio Share of each quota rule's window already used.\n"
         "# TYPE lingmo_quota_used_ratio gauge\n";
    if (auto rules = read_quota(app.redis, now, 1.0))
      for (const auto& v : rules.value())
        m << "lingmo_quota_used_ratio{provider=\"" << label(v.provider_id) << "\",rule=\"" << v.index << "\",describe=\""
          << label(v.rule.describe()) << "\"} " << json::number(v.stat.percent / 100) << "\n";
    auto circuits = read_open_circuits(app.redis, now);
    m << "# HELP lingmo_provider_circuit_open Whether some nginx worker has the provider's circuit breaker open (1).\n"
         "# TYPE lingmo_provider_circuit_open gauge\n";
    for (const auto& [id, json] : providers.value())
      m << "lingmo_provider_circuit_open{provider=\"" << label(id) << "\"} " << (circuits && circuits.value().count(id) ? 1 : 0) << "\n";
    m << "# HELP lingmo_provider_parked Whether a provider is parked (1) right now.\n# TYPE lingmo_provider_parked gauge\n";
    auto states = app.redis.hgetall(schema::kProviderState);
    for (const auto& [id, json] : providers.value()) {
      bool parked = false;
      if (states)
        if (auto it = states.value().find(id); it != states.value().end())
          if (auto st = schema::state_from_json(it->second)) parked = st.value().unusable_until_ms > now;
      m << "lingmo_provider_parked{provider=\"" << label(id) << "\"} " << (parked ? 1 : 0) << "\n";
    }
    if (auto balances = read_balances(app.redis)) {
      m << "# HELP lingmo_provider_balance Money left at the vendor (last good reading of the balance sync).\n"
           "# TYPE lingmo_provider_balance gauge\n";
      for (const auto& [id, h] : balances.value())
        if (auto b = h.find("balance"); b != h.end() && !b->second.empty()) {
          auto c = h.find("currency");
          m << "lingmo_provider_balance{provider=\"" << label(id) << "\",currency=\"" << label(c == h.end() ? "" : c->second) << "\"} "
            << b->second << "\n";
        }
      m << "# HELP lingmo_provider_plan_used_ratio Share of a vendor plan window used (balance sync).\n"
           "# TYPE lingmo_provider_plan_used_ratio gauge\n";
      for (const auto& [id, h] : balances.value()) {
        auto w = h.find("windows");
        rapidjson::Document d;
        if (w == h.end() || d.Parse(w->second.c_str()).HasParseError() || !d.IsArray()) continue;
        for (const auto& x : d.GetArray())
          if (x.IsObject() && x.HasMember("percent") && x["percent"].IsNumber())
            m << "lingmo_provider_plan_used_ratio{provider=\"" << label(id) << "\",window=\"" << label(json::get_string(x, "name"))
              << "\"} " << json::number(x["percent"].GetDouble() / 100) << "\n";
      }
      m << "# HELP lingmo_balance_sync_failures Consecutive failed balance reads of a provider.\n"
           "# TYPE lingmo_balance_sync_failures gauge\n";
      for (const auto& [id, h] : balances.value()) {
        auto f = h.find("failures");
        m << "lingmo_balance_sync_failures{provider=\"" << label(id) << "\"} " << (f == h.end() || f->second.empty() ? "0" : f->second) << "\n";
      }
    }
    Reply rep = ok_raw(m.str());
    rep.content_type = "text/plain; version=0.0.4";
    return rep;
  });
}

void register_balance_routes(Router& r, BalanceSync& sync) {
  r.route("POST", "/api/quota/sync/([A-Za-z0-9_.-]{1,64})", Access::kWrite, "quota.sync", [&sync](const Call& c) {
    auto res = sync.sync_now(c.req.matches[1], epoch_ms());
    switch (res.outcome) {
      case BalanceSync::Outcome::kDone: return ok_raw(res.view);
      case BalanceSync::Outcome::kNotFound: return not_found(res.detail);
      case BalanceSync::Outcome::kNoEndpoint: return error_reply(409, "no_balance_endpoint", res.detail);
      case BalanceSync::Outcome::kBusy: return error_reply(409, "sync_running", res.detail);
      case BalanceSync::Outcome::kStorage: break;
    }
    return storage_error(res.detail);
  });
}

}  // namespace lingmo::cp
