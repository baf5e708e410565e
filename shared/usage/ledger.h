// UsageLedger: per-worker usage counters waiting to reach Redis (ARCHITECTURE decision 2).
// Increments are aggregated per (provider, day), so the buffer is bounded by the number of
// distinct keys, not by the number of requests, and survives a Redis outage. A flush freezes the
// pending counters into a batch with an id; the batch is applied by a Lua script that first sets
// a marker key with NX, so replaying a batch whose reply was lost never counts twice.
#pragma once
#include <cstdint>
#include <deque>
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
  // Applied (or found already applied). With a retention (retain()), the batch is kept as
  // acknowledged at `now_ms` (any monotonic clock in ms, the same one recent() is given).
  void ack(int64_t now_ms = 0);
  // nack(): keep the batch; the next take_batch() returns it unchanged.

  // Keeps acknowledged batches for `window_ms`, at most `max_entries` usage keys in all (the
  // oldest batches go first), so that they can be sent again after a Redis failover: the replica
  // promoted to master may lack the last writes the old master acknowledged (replication is
  // asynchronous), and writes that reached the old master after the promotion are lost with it.
  // Sending a batch again is safe: its marker makes a batch that did arrive a no-op.
  // 0 (the default) keeps nothing.
  void retain(int64_t window_ms, size_t max_entries);
  // Copies of the kept batches acknowledged at or after now_ms - window, oldest first.
  std::vector<Batch> recent(int64_t now_ms);

  // Arguments for EVAL: script, numkeys, keys..., argv...
  static std::vector<std::string> eval_args(const Batch& b, const std::string& marker_key, int marker_ttl_s);

 private:
  size_t max_keys_;
  std::map<std::string, Counters> pending_;
  std::map<std::string, int64_t> ttl_;
  std::optional<Batch> batch_;
  uint64_t dropped_ = 0;
  int64_t retain_ms_ = 0;
  size_t retain_entries_ = 0;
  std::deque<std::pair<int64_t, Batch>> acked_;  // (ack time, batch), oldest first
  size_t acked_entries_ = 0;
  void prune(int64_t now_ms);
};

// "YYYY-MM-DD" of an epoch-milliseconds instant, in UTC.
std::string utc_day(int64_t epoch_ms);
// "YYYY-MM-DDTHH" (UTC): the bucket of the hourly usage counters.
std::string utc_hour(int64_t epoch_ms);

}  // namespace lingmo::usage
