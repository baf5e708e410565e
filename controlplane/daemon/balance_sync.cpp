#include "balance_sync.h"
#include "util/secret.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "config/schema.h"
#include "quota/balance.h"
#include "util/json.h"
#include "vendors/templates.h"

namespace lingmo::cp {

namespace {

constexpr int64_t kLeaseMs = 30'000;      // above one vendor call (15 s) plus the writes
constexpr long kCallTimeoutMs = 15'000;
constexpr int64_t kRecordTtlS = 30 * 86400;

const char* const kReleaseLease =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

// Drops the provider's state only when the balance sync wrote it (its reason starts with ARGV[2]):
// a park the data plane set for a reason of its own stays.
const char* const kClearOwnPark =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not cur then return 0 end\n"
    "local ok, st = pcall(cjson.decode, cur)\n"
    "if ok and type(st) == 'table' and type(st.reason) == 'string' and string.sub(st.reason, 1, #ARGV[2]) == ARGV[2] then\n"
    "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string lease_key(const std::string& id) { return "lingmo:lease:balance:" + id; }

// What the provider syncs against: its own balance.kind, else its vendor template's; admin usage
// only with an admin key (most OpenAI/Anthropic providers have none: nothing to sync, no error).
struct Plan {
  quota::BalanceKind kind = quota::BalanceKind::kNone;
  std::string why_none;   // for the API when there is nothing to sync
  std::string bad_kind;   // a stored kind this build does not know
};

Plan plan_for(const config::Provider& p) {
  Plan out;
  std::string name = p.balance.kind;
  if (name.empty()) {
    const auto* t = vendors::TemplateTable::builtin().find(p.vendor);
    name = t ? t->balance_kind : "";
    if (name.empty() || name == "none") {
      out.why_none = "provider " + p.id + " has no balance endpoint (set balance.kind; vendor \"" + p.vendor + "\" has none)";
      return out;
    }
  }
  if (name == "none") {
    out.why_none = "balance sync is switched off for provider " + p.id + " (balance.kind none)";
    return out;
  }
  auto k = quota::balance_kind_from_name(name, p.dialect);
  if (!k) {
    out.bad_kind = name;
    return out;
  }
  if (quota::needs_admin_key(*k) && p.balance.admin_key_sealed.empty()) {
    out.why_none = "provider " + p.id + ": the usage API needs an admin key (balance.admin_key)";
    return out;
  }
  out.kind = *k;
  return out;
}

std::string windows_json(const std::vector<quota::UsageWindow>& ws) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartArray();
  for (const auto& x : ws) {
    w.StartObject();
    w.Key("name");
    w.String(x.name.c_str(), static_cast<rapidjson::SizeType>(x.name.size()));
    auto opt = [&](const char* k, double v) {
      w.Key(k);
      if (v < 0) w.Null();
      else w.Double(v);
    };
    opt("used", x.used);
    opt("limit", x.limit);
    opt("percent", x.percent);
    w.Key("resets_at");
    if (x.resets_ms > 0) w.Int64(x.resets_ms);
    else w.Null();
    w.Key("gates");
    w.Bool(x.gates);
    w.EndObject();
  }
  w.EndArray();
  return sb.GetString();
}

struct Park {
  int64_t until = 0;
  std::string kind, reason;
};

// Whether the reading says the provider cannot serve, and until when to skip it. Money is checked
// again at the next sync (the park outlasts one missed sync, then lapses by itself); a plan window
// comes back at its reset.
std::optional<Park> park_for(const quota::BalanceReading& r, double threshold, int64_t now, int64_t recheck_ms) {
  std::optional<Park> best;
  auto consider = [&](int64_t until, const char* kind, std::string why) {
    if (!best || until > best->until) best = Park{until, kind, kBalanceParkReason + why};
  };
  std::string money = r.balance ? json::number(*r.balance) + (r.currency.empty() ? "" : " " + r.currency) : "unknown";
  if (r.key_blocked) consider(now + recheck_ms, "auth", "the vendor flags the API key (or its team) as blocked or disabled");
  if (!r.available && !r.key_blocked) consider(now + recheck_ms, "quota", "the vendor says the account cannot serve (balance " + money + ")");
  if (r.balance && *r.balance <= 0) consider(now + recheck_ms, "quota", "balance " + money);
  for (const auto& w : r.windows)
    if (w.gates && w.percent >= 0 && w.percent >= threshold * 100)
      consider(w.resets_ms > now ? w.resets_ms : now + recheck_ms, "quota",
               "plan window " + w.name + " at " + json::number(w.percent) + "% (switch threshold " + json::number(threshold * 100) + "%)");
  return best;
}

}  // namespace

std::string balance_key(const std::string& provider_id) { return "lingmo:balance:" + provider_id; }

void BalanceSync::start() {
  if (interval_s_ <= 0) return;
  thread_ = std::thread([this] {
    // Wakes often enough for backoff due times (the schedule lives in Redis, per provider).
    auto period = std::chrono::seconds(std::clamp(interval_s_, 1, 5));
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      try {
        tick();
      } catch (const std::exception& e) {
        spdlog::error("balance sync: {}", e.what());
      }
      lock.lock();
      cv_.wait_for(lock, period, [this] { return stopping_; });
    }
  });
}

void BalanceSync::stop() {
  cancel_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool BalanceSync::take_lease(const std::string& id) {
  auto r = redis_.run({"SET", lease_key(id), instance_, "NX", "PX", std::to_string(kLeaseMs)});
  return r && r.value()->type != REDIS_REPLY_NIL;
}

void BalanceSync::release_lease(const std::string& id) { redis_.run({"EVAL", kReleaseLease, "1", lease_key(id), instance_}); }

void BalanceSync::tick() {
  auto providers = redis_.hgetall(schema::kProviders);
  if (!providers) return;
  int64_t now = 0;
  auto due = [&](const std::string& id) {
    auto next = redis_.get_string({"HGET", balance_key(id), "next_at"});
    return next && std::atoll(next.value().c_str()) <= now;
  };
  for (const auto& [id, json] : providers.value()) {
    if (cancel_) return;
    now = wall_ms();  // an earlier provider's slow vendor must not make this one's times stale
    auto p = schema::provider_from_json(json);
    if (!p || !p.value().enabled) continue;
    Plan plan = plan_for(p.value());
    if (plan.kind == quota::BalanceKind::kNone && plan.bad_kind.empty()) {
      lift_orphan_park(id);
      continue;
    }
    if (!due(id) || !take_lease(id)) continue;
    // Checked again under the lease: another replica may have synced it since the first look.
    if (due(id)) sync_provider(id, json, now);
    release_lease(id);
  }
}

void BalanceSync::lift_orphan_park(const std::string& id) {
  // The sync was switched off (balance.kind none) while one of its parks held: nothing would
  // lift it before it lapses (a plan window's park lasts until the window resets).
  auto until = redis_.get_string({"HGET", balance_key(id), "park_until"});
  if (!until || until.value().empty()) return;
  auto cleared = redis_.run({"EVAL", kClearOwnPark, "1", schema::kProviderState, id, kBalanceParkReason});
  if (cleared && cleared.value()->type == REDIS_REPLY_INTEGER && cleared.value()->integer == 1)
    redis_.run({"PUBLISH", schema::kEventsChannel, "state"});
  redis_.run({"HSET", balance_key(id), "park_until", "", "park_reason", ""});
}

BalanceSync::Forced BalanceSync::sync_now(const std::string& id, int64_t now) {
  auto json = redis_.get_string({"HGET", schema::kProviders, id});
  if (!json) return {Outcome::kStorage, json.error(), ""};
  if (json.value().empty()) return {Outcome::kNotFound, "provider " + id, ""};
  auto p = schema::provider_from_json(json.value());
  if (!p) return {Outcome::kNoEndpoint, p.error(), ""};
  Plan plan = plan_for(p.value());
  if (plan.kind == quota::BalanceKind::kNone && plan.bad_kind.empty()) return {Outcome::kNoEndpoint, plan.why_none, ""};
  if (!take_lease(id)) return {Outcome::kBusy, "a sync of provider " + id + " is running (another request or daemon); try again shortly", ""};
  sync_provider(id, json.value(), now);
  release_lease(id);
  auto record = redis_.hgetall(balance_key(id));
  if (!record) return {Outcome::kStorage, record.error(), ""};
  return {Outcome::kDone, "", balance_view(id, record.value())};
}

void BalanceSync::sync_provider(const std::string& id, const std::string& stored_json, int64_t now) {
  auto parsed = schema::provider_from_json(stored_json);
  if (!parsed) return;
  const config::Provider& p = parsed.value();
  Plan plan = plan_for(p);
  quota::BalanceReading reading;
  quota::BalanceRequest req;
  if (!plan.bad_kind.empty()) {
    reading.error = "balance.kind \"" + plan.bad_kind + "\" is unknown";
  } else {
    bool admin = quota::needs_admin_key(plan.kind);
    auto key = admin ? secret_.decrypt(p.balance.admin_key_sealed, "balance-admin:" + id)
               : p.api_key_sealed.empty() ? Result<std::string>::fail("the provider has no API key")
                                          : secret_.decrypt(p.api_key_sealed, id);
    req = quota::balance_request(plan.kind, p.base_url, p.balance.url, now);
    if (!key) {
      reading.error = p.api_key_sealed.empty() && !admin ? key.error()
                                                          : std::string(admin ? "the admin key" : "the API key") +
                                                                " cannot be decrypted with this secret key";
    } else {
      std::vector<std::string> headers = quota::balance_headers(plan.kind, key.value());
      if (!admin)  // the vendor's own API: what the provider sends anyway (e.g. a relay's headers)
        for (const auto& [k, v] : p.headers) headers.push_back(k + ": " + v);
      OutboundResult res = outbound_.request("GET", req.url, "", headers, p.proxy, kCallTimeoutMs, &cancel_);
      secret::redact(res.body, key.value());  // an error that quotes the key must not be stored
      if (res.status == 0) {
        reading.error = res.error.empty() ? "no answer" : res.error;
      } else {
        // The vendor's currency first, then the configured one, then the host's.
        reading = quota::parse_balance(plan.kind, res.status, res.body, "", now);
        if (reading.ok && reading.currency.empty())
          reading.currency = !p.balance.currency.empty() ? p.balance.currency : quota::currency_for_host(plan.kind, req.host);
      }
    }
  }

  std::string key = balance_key(id);
  auto prev = redis_.hgetall(key);
  int64_t failures = 0, streak_start = 0;
  if (prev) {
    if (auto f = prev.value().find("failures"); f != prev.value().end()) failures = std::atoll(f->second.c_str());
    if (auto s = prev.value().find("streak_start"); s != prev.value().end()) streak_start = std::atoll(s->second.c_str());
  }
  std::string kind_name = plan.bad_kind.empty() ? quota::balance_kind_name(plan.kind) : plan.bad_kind;
  std::vector<std::string> hset{"HSET", key, "ts", std::to_string(now), "kind", kind_name};
  auto put = [&](const char* f, const std::string& v) {
    hset.push_back(f);
    hset.push_back(v);
  };
  int64_t interval_ms = int64_t(interval_s_) * 1000;
  if (reading.ok) {
    put("ok", "1");
    put("error", "");
    put("failures", "0");
    put("streak_start", "0");
    put("next_at", interval_ms > 0 ? std::to_string(now + interval_ms) : "0");
    put("read_at", std::to_string(now));
    put("currency", reading.currency);
    put("balance", reading.balance ? json::number(*reading.balance) : "");
    put("available", reading.available ? "1" : "0");
    put("key_blocked", reading.key_blocked ? "1" : "0");
    put("spent", reading.spent ? json::number(*reading.spent) : "");
    put("windows", windows_json(reading.windows));
  } else {
    // The last good reading stays as it was: an error is never a new zero.
    ++failures;
    if (failures == 1) streak_start = now;
    int64_t base = std::min<int64_t>(60'000, interval_ms > 0 ? interval_ms : 60'000);
    int64_t cap = std::max<int64_t>(3'600'000, interval_ms);
    int64_t delay = failures > 20 ? cap : std::min(cap, base << (failures - 1));
    put("ok", "0");
    put("error", reading.error);
    put("failures", std::to_string(failures));
    put("streak_start", std::to_string(streak_start));
    put("next_at", std::to_string(now + delay));
    if (failures == 1 || (failures & (failures - 1)) == 0)  // 1, 2, 4, 8...: a dead vendor does not flood the log
      spdlog::warn("balance sync of provider {} failed ({} in a row): {}", id, failures, reading.error);
  }

  if (reading.ok) {
    // The provider's switch threshold, else the global one.
    double threshold = p.threshold;
    if (threshold <= 0) {
      auto settings = redis_.hgetall(schema::kSettings);
      threshold = schema::settings_from_hash(settings ? settings.value() : std::map<std::string, std::string>{}, nullptr).threshold;
    }
    int64_t recheck_ms = 2 * std::max<int64_t>(interval_s_, 60) * 1000 + 10'000;
    if (auto park = park_for(reading, threshold, now, recheck_ms)) {
      config::ProviderState st;
      st.unusable_until_ms = park->until;
      st.kind = park->kind;
      st.reason = park->reason;
      // A blocked key holds until the provider is edited (a new key), like the data plane's.
      if (park->kind == "auth") st.fingerprint = crypto::sha256_hex(stored_json).substr(0, 16);
      auto w = redis_.run({"EVAL", schema::kSetStateScript, "1", schema::kProviderState, id, schema::to_json(st),
                           std::to_string(st.unusable_until_ms)});
      if (w && w.value()->type == REDIS_REPLY_INTEGER && w.value()->integer == 1) {
        redis_.run({"PUBLISH", schema::kEventsChannel, "state"});
        if (!prev || prev.value().count("park_until") == 0 || prev.value().at("park_until").empty())
          spdlog::info("provider {} parked by the balance sync: {}", id, park->reason);
      }
      put("park_until", std::to_string(park->until));
      put("park_reason", park->reason);
    } else {
      auto cleared = redis_.run({"EVAL", kClearOwnPark, "1", schema::kProviderState, id, kBalanceParkReason});
      if (cleared && cleared.value()->type == REDIS_REPLY_INTEGER && cleared.value()->integer == 1) {
        redis_.run({"PUBLISH", schema::kEventsChannel, "state"});
        spdlog::info("provider {}: the balance sync lifted its park (the vendor reports funds or quota again)", id);
      }
      put("park_until", "");
      put("park_reason", "");
    }
  }
  redis_.run(hset);
  redis_.run({"EXPIRE", key, std::to_string(kRecordTtlS)});
}

std::string balance_view(const std::string& id, const std::map<std::string, std::string>& h) {
  auto get = [&](const char* k) -> std::string {
    auto it = h.find(k);
    return it == h.end() ? std::string() : it->second;
  };
  auto number = [&](const char* k) {
    std::string v = get(k);
    double d = 0;
    return v.empty() || !quota::parse_amount(v, d) ? std::string("null") : json::number(d);
  };
  auto ms = [&](const char* k) {
    std::string v = get(k);
    return v.empty() || v == "0" ? std::string("null") : std::to_string(std::atoll(v.c_str()));
  };
  auto flag = [&](const char* k) {
    std::string v = get(k);
    return v.empty() ? std::string("null") : v == "1" ? std::string("true") : std::string("false");
  };
  auto text = [&](const char* k) {
    std::string v = get(k);
    return v.empty() ? std::string("null") : json::quote(v);
  };
  bool have_reading = !get("read_at").empty();
  std::string windows = get("windows");
  rapidjson::Document check;
  check.Parse(windows.c_str());
  if (windows.empty() || check.HasParseError() || !check.IsArray()) windows = "[]";
  return "{\"provider\":" + json::quote(id) + ",\"kind\":" + text("kind") + ",\"ok\":" + (get("ok") == "1" ? "true" : "false") +
         ",\"error\":" + text("error") + ",\"checked_at\":" + ms("ts") + ",\"read_at\":" + ms("read_at") +
         ",\"currency\":" + (have_reading ? text("currency") : "null") + ",\"balance\":" + number("balance") +
         ",\"available\":" + flag("available") + ",\"key_blocked\":" + flag("key_blocked") + ",\"spent\":" + number("spent") +
         ",\"windows\":" + windows + ",\"failures\":" + std::to_string(std::atoll(get("failures").c_str())) +
         ",\"next_at\":" + ms("next_at") + ",\"park_until\":" + ms("park_until") + ",\"park_reason\":" + text("park_reason") + "}";
}

Result<std::map<std::string, std::map<std::string, std::string>>> read_balances(RedisPool& redis) {
  using R = Result<std::map<std::string, std::map<std::string, std::string>>>;
  auto providers = redis.hgetall(schema::kProviders);
  if (!providers) return R::fail(providers.error());
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& [id, json] : providers.value()) {
    auto h = redis.hgetall(balance_key(id));
    if (!h) return R::fail(h.error());
    if (!h.value().empty()) out[id] = std::move(h.value());
  }
  return out;
}

}  // namespace lingmo::cp
