#include "quota_view.h"
#include "clock.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "config/schema.h"
#include "crypto/crypto.h"
#include "quota/tz.h"

namespace lingmo::cp {

namespace {

std::string samples_key(const std::string& pid, size_t index) {
  return "lingmo:quota:samples:" + pid + ":" + std::to_string(index);
}

}  // namespace

Result<std::vector<RuleView>> read_quota(RedisPool& redis, int64_t now, double global_threshold) {
  using R = Result<std::vector<RuleView>>;
  auto all = redis.hgetall(schema::kProviders);
  if (!all) return R::fail(all.error());
  std::vector<RuleView> out;
  for (const auto& [id, json] : all.value()) {
    auto p = schema::provider_from_json(json);
    if (!p) continue;
    double threshold = p.value().threshold > 0 ? p.value().threshold : global_threshold;
    for (size_t i = 0; i < p.value().quotas.size(); ++i) {
      const quota::Rule& rule = p.value().quotas[i];
      auto zone = quota::TimeZone::load(rule.tz);  // per call: this runs on several threads
      if (!zone) continue;
      auto span = rule.span(now / 1000, *zone.value());
      auto counters = redis.hgetall(quota::counter_key(id, i, span.id));
      if (!counters) return R::fail(counters.error());
      auto f = counters.value().find(quota::counter_field(rule.metric));
      int64_t used = f == counters.value().end() ? 0 : std::atoll(f->second.c_str());
      std::vector<quota::Sample> samples;
      if (auto rep = redis.run({"LRANGE", samples_key(id, i), "0", "-1"}); rep)
        for (size_t k = 0; k < rep.value()->elements; ++k) {
          // "ts used window": only readings of the current window count.
          std::string s(rep.value()->element[k]->str, rep.value()->element[k]->len);
          size_t a = s.find(' '), b = s.find(' ', a + 1);
          if (a == std::string::npos || b == std::string::npos || s.substr(b + 1) != span.id) continue;
          samples.push_back({std::atoll(s.c_str()), std::atoll(s.c_str() + a + 1)});
        }
      int64_t end_ms = rule.window == quota::Window::kOneOff ? 0 : span.end_s * 1000;
      out.push_back({id, i, rule, span.id, quota::rule_stat(used, rule.limit, threshold, samples, now, end_ms)});
    }
  }
  return out;
}

Result<std::map<std::string, config::CircuitNote>> read_open_circuits(RedisPool& redis, int64_t now) {
  auto all = redis.hgetall(schema::kCircuits);
  if (!all) return Result<std::map<std::string, config::CircuitNote>>::fail(all.error());
  std::map<std::string, config::CircuitNote> open;
  for (const auto& [id, json] : all.value())
    if (auto n = schema::circuit_from_json(json); n && n.value().open_until_ms > now) open.emplace(id, n.value());
  return open;
}

void QuotaSampler::sample_once(int64_t now) {
  // The lease: one replica samples per interval (a second one would only add duplicates).
  auto lease = redis_.run({"SET", "lingmo:lease:quota-sampler", instance_, "NX", "PX", std::to_string(interval_s_ * 1000 - 500)});
  if (!lease || lease.value()->type == REDIS_REPLY_NIL) return;
  auto rules = read_quota(redis_, now, 1.0);
  if (!rules) return;
  for (const auto& v : rules.value()) {
    std::string key = samples_key(v.provider_id, v.index);
    redis_.run({"RPUSH", key, std::to_string(now) + " " + std::to_string(v.stat.used) + " " + v.window_id});
    redis_.run({"LTRIM", key, "-90", "-1"});
    redis_.run({"PEXPIRE", key, std::to_string(2 * 3600 * 1000)});
  }
  if (after_) after_(now);
}

void QuotaSampler::start() {
  instance_ = crypto::to_hex(crypto::random_bytes(8));
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      try {
        sample_once(epoch_ms());
      } catch (const std::exception& e) {  // (e.g. bad_alloc) never ends the thread, nor the daemon
        spdlog::error("quota sampler: {}", e.what());
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(interval_s_), [this] { return stopping_; });
    }
  });
}

void QuotaSampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lingmo::cp
