// The daemon's wall clock, in epoch milliseconds (quota windows, sessions, audit and alert times).
#pragma once
#include <chrono>
#include <cstdint>

namespace lingmo::cp {

inline int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace lingmo::cp
