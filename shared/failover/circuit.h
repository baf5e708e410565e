// Circuit breaker per provider (per worker): repeated overloads, 5xx, timeouts or connect errors
// open it; after a cooldown exactly one trial request goes through (half-open) — never a sweep
// of requests that would burn quota on a vendor that is still down. Pure: time is passed in.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace lingmo::failover {

struct CircuitPolicy {
  int failures_to_open = 3;        // consecutive failures that open the breaker
  int64_t cooldown_ms = 30'000;    // first open period; doubles after each failed trial
  int64_t max_cooldown_ms = 300'000;
};

class Circuit {
 public:
  explicit Circuit(CircuitPolicy p = {}) : policy_(p), cooldown_(p.cooldown_ms) {}

  // May a request be sent now? In half-open state this admits exactly one trial.
  bool admit(int64_t now_ms);
  void on_success();
  void on_failure(int64_t now_ms);
  void on_abandon();  // an admitted request ended without a verdict (client went away)

  bool open() const { return state_ != State::kClosed; }
  int64_t open_until_ms() const { return open_until_; }

 private:
  enum class State { kClosed, kOpen, kHalfOpen };
  CircuitPolicy policy_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t cooldown_;
  int64_t open_until_ = 0;
  bool trial_in_flight_ = false;
};

using CircuitBook = std::map<std::string, Circuit>;  // provider id -> breaker

}  // namespace lingmo::failover
