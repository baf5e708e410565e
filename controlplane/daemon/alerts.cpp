#include "alerts.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "balance_sync.h"
#include "config/schema.h"
#include "quota/balance.h"
#include "quota_view.h"
#include "translate/jsonv.h"
#include "usage/ledger.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;

std::string amount_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// balance_low and sync_failing, from the balance sync's records (lingmo:balance:<provider>):
// balance_low once per provider and UTC day while its last good balance is under the rule's
// min_balance; sync_failing once per failure streak (the streak's start is in the key).
void evaluate_balance_alerts(RedisPool& redis, Dispatcher& dispatcher, const std::map<std::string, std::string>& rules, int64_t now) {
  struct Watch {
    std::string id, event, provider;
    std::vector<std::string> channels;
    double min_balance = 0;
    int64_t failures = 3, cooldown_s = 1800;
  };
  std::vector<Watch> watch;
  for (const auto& [id, json] : rules) {
    rapidjson::Document d;
    d.Parse(json.c_str());
    std::string event = json::get_string(d, "event");
    if (d.HasParseError() || !json::get_bool(d, "enabled", true) || (event != "balance_low" && event != "sync_failing")) continue;
    Watch w{id, event, json::get_string(d, "provider"), {}, 0, std::max<int64_t>(1, json::get_int(d, "failures", 3)),
            std::max<int64_t>(60, json::get_int(d, "cooldown_s", 1800))};
    if (const auto* m = jv::get(d, "min_balance"); m && m->IsNumber()) w.min_balance = m->GetDouble();
    else if (event == "balance_low") continue;
    if (const auto* ch = jv::get(d, "channels"); ch && ch->IsArray())
      for (const auto& c : ch->GetArray())
        if (c.IsString()) w.channels.emplace_back(c.GetString());
    watch.push_back(std::move(w));
  }
  if (watch.empty()) return;
  auto records = read_balances(redis);
  if (!records) return;
  std::string day = usage::utc_day(now);
  for (const auto& [pid, h] : records.value()) {
    auto field = [&](const char* k) {
      auto it = h.find(k);
      return it == h.end() ? std::string() : it->second;
    };
    for (const auto& w : watch) {
      if (!w.provider.empty() && w.provider != pid) continue;
      std::string key;
      alerts::Event e;
      double balance = 0;
      int64_t failures = std::atoll(field("failures").c_str());
      if (w.event == "balance_low" && quota::parse_amount(field("balance"), balance) && balance < w.min_balance) {
        std::string cur = field("currency").empty() ? "" : " " + field("currency");
        e = {"balance_low", balance <= 0 ? "critical" : "warning",
             pid + ": balance " + amount_text(balance) + cur + ", under " + amount_text(w.min_balance) + cur,
             "the vendor's balance API reported " + amount_text(balance) + cur + " (read at epoch ms " + field("read_at") + ")" +
                 (balance <= 0 ? "; the provider is parked until funds are back" : ""),
             pid, "", now};
        key = "balance_low:" + pid + ":" + day;
      } else if (w.event == "sync_failing" && failures >= w.failures) {
        e = {"sync_failing", "warning", pid + ": balance sync failing (" + std::to_string(failures) + " times in a row)",
             "last error: " + field("error") + ". Until it reads again, the last good reading stands.", pid, "", now};
        key = "sync_failing:" + pid + ":" + field("streak_start");
      } else {
        continue;
      }
      auto set = redis.run({"SET", kAlertFiredPrefix + w.id + ":" + key, "1", "NX", "EX",
                            std::to_string(std::max<int64_t>(w.cooldown_s, w.event == "balance_low" ? 2 * 86400 : 8 * 86400))});
      if (!set || set.value()->type == REDIS_REPLY_NIL) continue;
      for (const auto& ch : w.channels) dispatcher.enqueue(ch, e);
    }
  }
}

}  // namespace

void Dispatcher::start(int threads) {
  for (int i = 0; i < threads; ++i)
    workers_.emplace_back([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (true) {
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_ && queue_.empty()) return;
        auto job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        auto json = redis_.get_string({"HGET", kAlertChannels, job.first});
        bool enabled = false;
        if (json && !json.value().empty()) {
          rapidjson::Document c;
          c.Parse(json.value().c_str());
          enabled = !c.HasParseError() && json::get_bool(c, "enabled", true);
        }
        if (!json || json.value().empty()) {
          record(job.first, job.second, DeliveryResult{false, 0, 0, "the channel no longer exists"});
        } else if (enabled) {
          try {
            send_now(json.value(), job.second);
          } catch (const std::exception& e) {
            spdlog::error("alert delivery to {}: {}", job.first, e.what());
          }
        }
        lock.lock();
      }
    });
}

void Dispatcher::stop() {
  cancel_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();  // not yet sent: dropped (a stopping daemon sends nothing new)
  }
  cv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void Dispatcher::enqueue(const std::string& channel_id, const alerts::Event& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() < kQueueLimit) {
      queue_.emplace_back(channel_id, e);
      cv_.notify_one();
      return;
    }
  }
  record(channel_id, e, DeliveryResult{false, 0, 0, "dropped: the delivery queue is full"});
}

DeliveryResult Dispatcher::send_now(const std::string& channel_json, const alerts::Event& e) {
  rapidjson::Document c;
  c.Parse(channel_json.c_str());
  DeliveryResult r;
  std::string id = json::get_string(c, "id");
  if (c.HasParseError() || !c.IsObject()) {
    r.error = "the stored channel is not valid JSON";
    return r;
  }
  auto unseal = [&](const char* field) {
    std::string sealed = json::get_string(c, field);
    if (sealed.empty()) return std::string();
    auto plain = secret_.decrypt(sealed, channel_aad(id));
    return plain ? plain.value() : std::string();
  };
  std::string type = json::get_string(c, "type");
  OutboundResult res;
  if (type == "email") {
    std::vector<std::string> to;
    if (const auto* list = jv::get(c, "to"); list && list->IsArray())
      for (const auto& t : list->GetArray())
        if (t.IsString()) to.emplace_back(t.GetString());
    std::string from = json::get_string(c, "from");
    res = outbound_.send_mail(json::get_string(c, "url"), json::get_string(c, "smtp_user"), unseal("smtp_password_sealed"), from,
                              to, alerts::email(from, to, e), 15000, &cancel_);
    r.ok = res.error.empty() && res.status / 100 == 2;
  } else {
    // The URL of IM webhooks holds their token: it is sealed too.
    alerts::Outgoing o = alerts::build(type, unseal("url_sealed"), unseal("secret_sealed"), json::get_string(c, "chat_id"), e);
    res = outbound_.request("POST", o.url, o.body, o.headers, "", 10000, &cancel_);
    r.ok = res.status >= 200 && res.status < 300;
    // DingTalk, Feishu, WeCom and Telegram answer 200 with an error code in the body.
    if (r.ok && !res.body.empty()) {
      rapidjson::Document b;
      b.Parse(res.body.c_str());
      if (!b.HasParseError() && b.IsObject()) {
        long long code = json::get_int(b, "errcode", json::get_int(b, "code", json::get_int(b, "StatusCode", 0)));
        if (code != 0 || (b.HasMember("ok") && b["ok"].IsBool() && !b["ok"].GetBool())) {
          r.ok = false;
          r.error = "the service refused it: " + res.body.substr(0, 200);
        }
      }
    }
  }
  r.status = res.status;
  r.latency_ms = res.latency_ms;
  if (!r.ok && r.error.empty()) r.error = res.error.empty() ? "HTTP " + std::to_string(res.status) : res.error;
  record(id, e, r);
  return r;
}

void Dispatcher::record(const std::string& channel_id, const alerts::Event& e, const DeliveryResult& r) {
  std::string v = "{\"ts\":" + std::to_string(e.ts_ms) + ",\"channel\":" + json::quote(channel_id) + ",\"event\":" + json::quote(e.kind) +
                  ",\"title\":" + json::quote(e.title) + ",\"ok\":" + (r.ok ? "true" : "false") + ",\"status\":" +
                  std::to_string(r.status) + ",\"latency_ms\":" + std::to_string(r.latency_ms) + ",\"error\":" + json::quote(r.error) + "}";
  redis_.run({"LPUSH", kAlertDeliveries, v});
  redis_.run({"LTRIM", kAlertDeliveries, "0", "999"});
  if (!r.ok) spdlog::warn("alert to channel {} failed: {}", channel_id, r.error);
}

void evaluate_alerts(RedisPool& redis, Dispatcher& dispatcher, int64_t now) {
  auto rules = redis.hgetall(kAlertRules);
  if (!rules || rules.value().empty()) return;
  evaluate_balance_alerts(redis, dispatcher, rules.value(), now);
  struct Rule {
    std::string id, event;
    std::vector<std::string> channels;
    int64_t cooldown_s = 1800;
  };
  std::vector<Rule> active;
  for (const auto& [id, json] : rules.value()) {
    rapidjson::Document d;
    d.Parse(json.c_str());
    if (d.HasParseError() || !json::get_bool(d, "enabled", true)) continue;
    Rule r{id, json::get_string(d, "event"), {}, std::max<int64_t>(60, json::get_int(d, "cooldown_s", 1800))};
    if (const auto* ch = jv::get(d, "channels"); ch && ch->IsArray())
      for (const auto& c : ch->GetArray())
        if (c.IsString()) r.channels.emplace_back(c.GetString());
    active.push_back(std::move(r));
  }
  // Fires `e` once per (rule, key) within the rule's cool-down.
  auto fire = [&](const std::string& key, const alerts::Event& e, int64_t min_quiet_s) {
    for (const auto& r : active) {
      if (r.event != e.kind) continue;
      auto set = redis.run({"SET", kAlertFiredPrefix + r.id + ":" + key, "1", "NX", "EX",
                            std::to_string(std::max(r.cooldown_s, min_quiet_s))});
      if (!set || set.value()->type == REDIS_REPLY_NIL) continue;
      for (const auto& ch : r.channels) dispatcher.enqueue(ch, e);
    }
  };
  auto settings = redis.hgetall(schema::kSettings);
  auto s = schema::settings_from_hash(settings ? settings.value() : std::map<std::string, std::string>{}, nullptr);
  if (auto views = read_quota(redis, now, s.threshold)) {
    for (const auto& v : views.value()) {
      double share = v.stat.percent / 100;
      double level = 0;
      for (double l : s.warn_levels)
        if (share >= l) level = std::max(level, l);
      if (level <= 0) continue;
      alerts::Event e{"warn_level", level >= 0.95 ? "warning" : "info",
                      v.provider_id + ": " + std::to_string(static_cast<int>(level * 100)) + "% of " + v.rule.describe(),
                      "used " + std::to_string(static_cast<int>(v.stat.percent)) + "% in window " + v.window_id +
                          (v.stat.resets_ms ? "; resets at epoch ms " + std::to_string(v.stat.resets_ms) : ""),
                      v.provider_id, v.rule.model, now};
      // Once per window and level (the window id makes the key new when the window resets).
      fire("warn:" + v.provider_id + ":" + std::to_string(v.index) + ":" + v.window_id + ":" + std::to_string(level), e, 8 * 86400);
    }
  }
  auto providers = redis.hgetall(schema::kProviders);
  auto states = redis.hgetall(schema::kProviderState);
  if (!providers || !states) return;
  std::map<std::string, std::vector<std::string>> serving;  // client model -> enabled providers
  for (const auto& [id, json] : providers.value())
    if (auto p = schema::provider_from_json(json); p && p.value().enabled)
      for (const auto& m : p.value().models) serving[m.name].push_back(id);
  std::set<std::string> parked;
  for (const auto& [id, json] : states.value()) {
    auto st = schema::state_from_json(json);
    if (!st || st.value().unusable_until_ms <= now) continue;
    parked.insert(id);
    const std::string& kind = st.value().kind;
    const char* event = kind == "quota" ? "exhausted" : kind == "threshold" ? "switched" : kind == "auth" ? "key_invalid" : nullptr;
    if (!event) continue;
    std::string title = id + (kind == "quota"       ? ": quota exhausted (the vendor said so)"
                              : kind == "threshold" ? ": switch threshold reached, traffic moved to the next provider"
                                                    : ": the vendor refused the API key");
    alerts::Event e{event, kind == "threshold" ? "warning" : "critical", title,
                    st.value().reason + " (parked until epoch ms " + std::to_string(st.value().unusable_until_ms) + ")", id, "", now};
    // The balance sync renews its parks at every reading: they keep one key (the rule's cool-down
    // spaces the reminders) instead of one event per renewal.
    bool renewed = st.value().reason.rfind(kBalanceParkReason, 0) == 0;
    fire(std::string(event) + ":" + id + ":" + (renewed ? std::string("balance-sync") : std::to_string(st.value().unusable_until_ms)), e, 0);
  }
  for (const auto& [model, ids] : serving) {
    if (ids.empty() || !std::all_of(ids.begin(), ids.end(), [&](const std::string& id) { return parked.count(id) > 0; })) continue;
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    alerts::Event e{"all_exhausted", "critical", "every provider of model " + model + " is unavailable",
                    "parked: " + list + ". Requests for " + model + " fail until one comes back.", "", model, now};
    fire("all:" + model, e, 0);
  }
  // Breakers open per worker; one alert per opening (since_ms names it), reopenings after a failed
  // trial included — the rule's cool-down spaces them.
  if (auto open = read_open_circuits(redis, now))
    for (const auto& [id, n] : open.value()) {
      alerts::Event e{"circuit_open", "warning", id + ": circuit breaker open after repeated failures",
                      "last failure: " + n.cause + "; an nginx worker skips it until epoch ms " + std::to_string(n.open_until_ms) +
                          ", then sends one trial request",
                      id, "", now};
      fire("circuit:" + id, e, 0);
    }
}

}  // namespace lingmo::cp
