// Circuit breaker per provider (per worker): repeated overloads, 5xx, timeouts or connect errors
// open it; after a cooldown exactly one trial request goes through (half-open) — never a sweep
// of requests that would burn quota on a vendor that is still down. Pure: time is passed in.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace lingmo::failover {

class Circuit {
 public:
  static constexpr int kFailuresToOpen = 3;
  static constexpr int64_t kFirstCooldownMs = 30'000;
  static constexpr int64_t kMaxCooldownMs = 300'000;

  // May a request be sent now? In half-open state this admits exactly one trial.
  bool admit(int64_t now_ms);
  void on_success();
  void on_failure(int64_t now_ms);
  void on_abandon();  // an admitted request ended without a verdict (client went away)

  bool open() const { return state_ != State::kClosed; }
  int64_t open_until_ms() const { return open_until_; }

 private:
  enum class State { kClosed, kOpen, kHalfOpen };
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t cooldown_ = kFirstCooldownMs;
  int64_t open_until_ = 0;
  bool trial_in_flight_ = false;
};

using CircuitBook = std::map<std::string, Circuit>;  // provider id -> breaker

}  // namespace lingmo::failover
