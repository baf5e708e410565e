// UsageLedger: per-worker usage counters waiting to reach Redis (ARCHITECTURE decision 2).
// Increments are aggregated per (provider, day), so the buffer is bounded by the number of
// distinct keys, not by the number of requests, and survives a Redis outage. A flush freezes the
// pending counters into a batch with an id; the batch is applied by a Lua script that first sets
// a marker key with NX, so replaying a batch whose reply was lost never counts twice.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lingmo::usage {

struct Counters {
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t failures = 0;
  int64_t cost_micros = 0;  // money, in millionths of the provider's currency (prices per 1M tokens)
  void add(const Counters& o);
};

inline constexpr const char* kFields[] = {"requests", "prompt_tokens", "completion_tokens", "total_tokens", "failures", "cost_micros"};
inline constexpr int kFieldCount = 6;

// KEYS[1] = batch marker, KEYS[2..] = usage hashes; ARGV[1] = marker TTL seconds, then six
// increments per usage hash in kFields order, then one expiry (seconds, 0 = none) per hash, set
// only where the hash has none yet. Returns 1 if applied, 0 if already applied.
extern const char* const kApplyBatchScript;

struct Batch {
  std::string id;
  std::vector<std::pair<std::string, Counters>> entries;  // usage key -> increments
  std::map<std::string, int64_t> ttl_s;                   // keys that must expire (quota windows)
};

class Ledger {
 public:
  explicit Ledger(size_t max_keys = 4096) : max_keys_(max_keys) {}

  // Returns false (and counts it in dropped()) when the buffer is full of other keys.
  // `ttl_s` > 0: the key expires that long after it is created (quota window counters).
  bool add(const std::string& usage_key, const Counters& c, int64_t ttl_s = 0);

  bool has_pending() const { return !pending_.empty(); }
  bool in_flight() const { return batch_.has_value(); }
  uint64_t dropped() const { return dropped_; }

  // Freezes the pending counters into a batch, unless one is already in flight (then returns it
  // again: a retry must reuse the id). Null when there is nothing to send.
  const Batch* take_batch(const std::string& new_batch_id);
  void ack() { batch_.reset(); }  // applied (or found already applied)
  // nack(): keep the batch; the next take_batch() returns it unchanged.

  // Arguments for EVAL: script, numkeys, keys..., argv...
  static std::vector<std::string> eval_args(const Batch& b, const std::string& marker_key, int marker_ttl_s);

 private:
  size_t max_keys_;
  std::map<std::string, Counters> pending_;
  std::map<std::string, int64_t> ttl_;
  std::optional<Batch> batch_;
  uint64_t dropped_ = 0;
};

// "YYYY-MM-DD" of an epoch-milliseconds instant, in UTC.
std::string utc_day(int64_t epoch_ms);

}  // namespace lingmo::usage
