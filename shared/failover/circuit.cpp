#include "failover/circuit.h"

#include <algorithm>

namespace lingmo::failover {

bool Circuit::admit(int64_t now_ms) {
  switch (state_) {
    case State::kClosed: return true;
    case State::kOpen:
      if (now_ms < open_until_) return false;
      state_ = State::kHalfOpen;
      trial_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      if (trial_in_flight_) return false;
      trial_in_flight_ = true;
      return true;
  }
  return true;
}

void Circuit::on_success() {
  state_ = State::kClosed;
  failures_ = 0;
  cooldown_ = policy_.cooldown_ms;
  trial_in_flight_ = false;
}

void Circuit::on_failure(int64_t now_ms) {
  if (state_ == State::kHalfOpen) {  // the trial failed: open again, for longer
    cooldown_ = std::min(cooldown_ * 2, std::max(policy_.max_cooldown_ms, policy_.cooldown_ms));
    state_ = State::kOpen;
    open_until_ = now_ms + cooldown_;
    trial_in_flight_ = false;
    return;
  }
  if (state_ == State::kOpen) return;
  if (++failures_ >= policy_.failures_to_open) {
    state_ = State::kOpen;
    open_until_ = now_ms + cooldown_;
  }
}

void Circuit::on_abandon() {
  if (state_ == State::kHalfOpen) trial_in_flight_ = false;
}

}  // namespace lingmo::failover
