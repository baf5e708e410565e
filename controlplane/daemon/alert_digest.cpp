#include "alert_digest.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

#include "alerts.h"
#include "config/schema.h"
#include "crypto/crypto.h"
#include "quota_view.h"
#include "translate/jsonv.h"
#include "usage/ledger.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;

constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr size_t kReasonMax = 200;  // a vendor's error text can be long; the digest is a summary

std::string iso_utc(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string pad2(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

std::string date_of(const quota::TimeZone::Civil& c) {
  return std::to_string(c.year) + "-" + pad2(c.month) + "-" + pad2(c.day);
}

// Millionths as a decimal without trailing zeros: 120000 -> "0.12", 3000000 -> "3".
std::string money(int64_t micros) {
  std::string sign = micros < 0 ? "-" : "";
  uint64_t m = micros < 0 ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  std::string frac = std::to_string(m % 1000000);
  frac = std::string(6 - frac.size(), '0') + frac;
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return sign + std::to_string(m / 1000000) + (frac.empty() ? "" : "." + frac);
}

int64_t field(const std::map<std::string, std::string>& h, const char* name) {
  auto it = h.find(name);
  return it == h.end() ? 0 : std::atoll(it->second.c_str());
}

// Usage is counted per UTC day, so "the last 24 h" is shown as the two UTC days it overlaps:
// yesterday in full and today so far.
std::string usage_section(RedisPool& redis, const std::map<std::string, std::string>& providers, int64_t now) {
  std::string days[2] = {usage::utc_day(now - kDayMs), usage::utc_day(now)};
  std::string out = "Usage per provider (UTC days " + days[0] + " and " + days[1] + " until " + iso_utc(now).substr(11, 5) + " UTC):";
  if (providers.empty()) return out + "\n  no providers";
  for (const auto& [id, json] : providers) {
    bool any = false;
    for (const auto& day : days) {
      auto u = redis.hgetall(schema::usage_key(id, day));
      if (!u) return out + "\n  unavailable (Redis: " + u.error() + ")";
      int64_t req = field(u.value(), "requests"), fail = field(u.value(), "failures"), cost = field(u.value(), "cost_micros");
      int64_t in = field(u.value(), "prompt_tokens"), outt = field(u.value(), "completion_tokens"), total = field(u.value(), "total_tokens");
      if (!req && !fail && !cost && !total) continue;
      any = true;
      out += "\n  " + id + " " + day + ": " + std::to_string(req) + " requests, " + std::to_string(total) + " tokens (" +
             std::to_string(in) + " in, " + std::to_string(outt) + " out), " + std::to_string(fail) + " failed, cost " + money(cost);
    }
    if (!any) out += "\n  " + id + ": no requests";
  }
  return out;
}

// Quota windows from the lowest warn level up, and those past the switch threshold.
std::string quota_section(RedisPool& redis, int64_t now) {
  auto settings = redis.hgetall(schema::kSettings);
  auto s = schema::settings_from_hash(settings ? settings.value() : std::map<std::string, std::string>{}, nullptr);
  double near = s.warn_levels.empty() ? 0.8 : *std::min_element(s.warn_levels.begin(), s.warn_levels.end());
  std::string out = "Quota windows near or over their limit (from " + std::to_string(static_cast<int>(near * 100)) + "%):";
  auto views = read_quota(redis, now, s.threshold);
  if (!views) return out + "\n  unavailable (Redis: " + views.error() + ")";
  bool any = false;
  for (const auto& v : views.value()) {
    bool over = v.stat.limit > 0 && v.stat.used >= v.stat.cap;
    if (!over && v.stat.percent / 100 < near) continue;
    any = true;
    auto amount = [&](int64_t n) { return v.rule.metric == "cost" ? money(n) : std::to_string(n); };
    out += "\n  " + v.provider_id + " rule " + std::to_string(v.index) + " (" + v.rule.describe() + "): " + amount(v.stat.used) + " of " +
           amount(v.stat.limit) + " (" + std::to_string(static_cast<int>(v.stat.percent)) + "%) in window " + v.window_id +
           (over ? ", over the switch threshold" : "") + (v.stat.resets_ms ? ", resets " + iso_utc(v.stat.resets_ms) : "");
  }
  return any ? out : out + "\n  none";
}

// Parks in force now; a park tied to a provider configuration that has changed since no longer holds.
std::string parked_section(RedisPool& redis, const std::map<std::string, std::string>& providers, int64_t now) {
  std::string out = "Parked providers:";
  auto states = redis.hgetall(schema::kProviderState);
  if (!states) return out + "\n  unavailable (Redis: " + states.error() + ")";
  bool any = false;
  for (const auto& [id, json] : states.value()) {
    auto st = schema::state_from_json(json);
    if (!st || st.value().unusable_until_ms <= now) continue;
    auto p = providers.find(id);
    if (!st.value().fingerprint.empty() && (p == providers.end() || crypto::sha256_hex(p->second).substr(0, 16) != st.value().fingerprint))
      continue;
    any = true;
    std::string reason = st.value().reason.substr(0, kReasonMax);
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    out += "\n  " + id + " (" + (st.value().kind.empty() ? "unknown" : st.value().kind) + ") until " +
           iso_utc(st.value().unusable_until_ms) + (reason.empty() ? "" : ": " + reason);
  }
  return any ? out : out + "\n  none";
}

std::string deliveries_section(RedisPool& redis, int64_t now) {
  auto rep = redis.run({"LRANGE", kAlertDeliveries, "0", "-1"});
  if (!rep) return "Alert deliveries in the last 24 h: unavailable (Redis: " + rep.error() + ")";
  std::map<std::string, int64_t> by_event;
  int64_t total = 0, failed = 0;
  bool older_seen = false;  // the list is capped: without an older entry the count is a lower bound
  for (size_t i = 0; i < rep.value()->elements; ++i) {
    rapidjson::Document d;
    d.Parse(rep.value()->element[i]->str, rep.value()->element[i]->len);
    if (d.HasParseError() || !d.IsObject()) continue;
    if (json::get_int(d, "ts") <= now - kDayMs) {
      older_seen = true;
      continue;
    }
    ++total;
    ++by_event[json::get_string(d, "event", "?")];
    if (!json::get_bool(d, "ok", false)) ++failed;
  }
  std::string out = "Alert deliveries in the last 24 h: ";
  if (!total) return out + "none";
  bool capped = !older_seen && rep.value()->elements >= 1000;
  out += (capped ? "at least " : "") + std::to_string(total) + " (";
  bool first = true;
  for (const auto& [event, n] : by_event) {
    out += (first ? "" : ", ") + event + " " + std::to_string(n);
    first = false;
  }
  return out + "), " + std::to_string(failed) + " failed";
}

}  // namespace

int digest_minute(const std::string& at) {
  if (at.size() != 5 || at[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4})
    if (at[i] < '0' || at[i] > '9') return -1;
  int h = (at[0] - '0') * 10 + (at[1] - '0'), m = (at[3] - '0') * 10 + (at[4] - '0');
  return h < 24 && m < 60 ? h * 60 + m : -1;
}

alerts::Event build_digest(RedisPool& redis, int64_t now, const quota::TimeZone& zone) {
  auto c = zone.civil(now / 1000);
  auto providers = redis.hgetall(schema::kProviders);
  std::map<std::string, std::string> none;
  const auto& ps = providers ? providers.value() : none;
  std::string text = (providers ? usage_section(redis, ps, now) : "Usage per provider: unavailable (Redis: " + providers.error() + ")") +
                     "\n" + quota_section(redis, now) + "\n" + parked_section(redis, ps, now) + "\n" + deliveries_section(redis, now);
  return alerts::Event{"digest", "info",
                       "Daily digest, " + date_of(c) + " " + pad2(c.hour) + ":" + pad2(c.minute) + " " + zone.name() + " (last 24 h)",
                       text, "", "", now};
}

void send_due_digests(RedisPool& redis, Dispatcher& dispatcher, int64_t now) noexcept {
  try {
    auto rules = redis.hgetall(kAlertRules);
    if (!rules) return;
    for (const auto& [id, json] : rules.value()) {
      rapidjson::Document d;
      d.Parse(json.c_str());
      if (d.HasParseError() || json::get_string(d, "event") != "digest" || !json::get_bool(d, "enabled", true)) continue;
      // Validated when the rule was written; a zone file that has gone since skips the rule.
      auto zone = quota::TimeZone::load(json::get_string(d, "tz", "UTC"));
      int at = digest_minute(json::get_string(d, "at", kDigestDefaultAt));
      if (!zone || at < 0) continue;
      auto c = zone.value()->civil(now / 1000);
      if (c.hour * 60 + c.minute < at) continue;
      // Once per rule and local date. EXISTS first: a digest already sent is not rebuilt at every
      // run for the rest of the day; SET NX then decides between replicas (and restarts).
      std::string key = kAlertFiredPrefix + id + ":digest:" + date_of(c);
      auto seen = redis.run({"EXISTS", key});
      if (!seen || seen.value()->integer != 0) continue;
      alerts::Event e = build_digest(redis, now, *zone.value());
      auto claim = redis.run({"SET", key, "1", "NX", "EX", std::to_string(2 * 86400)});
      if (!claim || claim.value()->type == REDIS_REPLY_NIL) continue;
      if (const auto* ch = jv::get(d, "channels"); ch && ch->IsArray())
        for (const auto& channel : ch->GetArray())
          if (channel.IsString()) dispatcher.enqueue(channel.GetString(), e);
    }
  } catch (const std::exception& e) {
    // The sampler's thread must not die of it: the next run tries again.
    spdlog::error("alert digest: {}", e.what());
  } catch (...) {
    spdlog::error("alert digest: unknown error");
  }
}

}  // namespace lingmo::cp
