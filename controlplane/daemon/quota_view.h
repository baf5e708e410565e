// Reading quota state for the API and the metrics: each provider's rules with their current
// window counters, and the sampler that records the counters once a minute so that burn rates
// and forecasts can be computed (lingmo:quota:samples:<provider>:<rule>, last 90 readings).
// With several daemon replicas one samples at a time (a Redis lease).
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/model.h"
#include "quota/stats.h"
#include "redis_pool.h"

namespace lingmo::cp {

struct RuleView {
  std::string provider_id;
  size_t index = 0;
  quota::Rule rule;
  std::string window_id;
  quota::RuleStat stat;
};

// Every rule of every provider, with its stat at `now_ms`. `global_threshold` applies where the
// provider has none of its own.
Result<std::vector<RuleView>> read_quota(RedisPool& redis, int64_t now_ms, double global_threshold);

// Circuit breakers that some nginx worker has open at `now_ms` (lingmo:circuits), by provider.
Result<std::map<std::string, config::CircuitNote>> read_open_circuits(RedisPool& redis, int64_t now_ms);

class QuotaSampler {
 public:
  QuotaSampler(RedisPool& redis, int interval_s) : redis_(redis), interval_s_(interval_s) {}
  // Runs after each sampling, under the same lease (the alert engine).
  void on_sampled(std::function<void(int64_t now_ms)> f) { after_ = std::move(f); }
  ~QuotaSampler() { stop(); }
  void start();
  void stop();
  void sample_once(int64_t now_ms);  // public for tests of the daemon's own loop

 private:
  RedisPool& redis_;
  int interval_s_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string instance_;
  std::function<void(int64_t)> after_;
};

}  // namespace lingmo::cp
