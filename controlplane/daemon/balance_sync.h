// Balance sync: reads each provider's balance or plan quota from its vendor (shared/quota/
// balance.h) every BALANCE_SYNC_INTERVAL, behind the SSRF guard (outbound.h) and the provider's
// proxy, and feeds what it learns into the state the data plane routes by: a provider that cannot
// serve (no money, key blocked, a plan window at its switch threshold) is parked in
// lingmo:provider_state like the data plane parks it; when the money is back the sync lifts the
// parks it set itself (never the data plane's).
//
//   lingmo:balance:<provider>        hash: the last attempt (ts, ok, error, failures, next_at,
//                                    streak_start) and the last good reading (read_at, currency,
//                                    balance, available, key_blocked, windows, spent), park_until,
//                                    park_reason. 30 days TTL, renewed at each write.
//   lingmo:lease:balance:<provider>  SET NX PX 30 s while one replica syncs that provider; the
//                                    schedule (next_at) is in the hash, so replicas agree on it.
// A failed read keeps the last good reading, records why, and retries with backoff (min(60 s,
// interval) doubling, capped at max(1 h, interval)). Keys are never logged or stored here.
#pragma once
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "outbound.h"
#include "redis_pool.h"

namespace lingmo::cp {

// Parks the sync sets carry this reason prefix: it lifts those, and only those.
inline constexpr const char* kBalanceParkReason = "balance sync: ";

class BalanceSync {
 public:
  BalanceSync(RedisPool& redis, const crypto::SecretKey& secret, const Outbound& outbound, int interval_s)
      : redis_(redis), secret_(secret), outbound_(outbound), interval_s_(interval_s) {}
  ~BalanceSync() { stop(); }
  void start();  // no thread when the interval is 0 (syncs on demand only)
  void stop();   // aborts a vendor call in flight

  // One pass: every enabled provider whose next sync is due and whose lease this replica gets.
  // (Providers are synced one after another; each is timed by the clock when its turn comes.)
  void tick();

  enum class Outcome { kDone, kNotFound, kNoEndpoint, kBusy, kStorage };
  struct Forced {
    Outcome outcome = Outcome::kDone;
    std::string detail;  // why not kDone
    std::string view;    // kDone: the provider's record as API JSON (balance_view)
  };
  // POST /api/quota/sync/{id}: syncs now, whatever the schedule says (still under the lease).
  Forced sync_now(const std::string& provider_id, int64_t now_ms);

 private:
  void sync_provider(const std::string& id, const std::string& stored_json, int64_t now_ms);
  void lift_orphan_park(const std::string& id);
  bool take_lease(const std::string& id);
  void release_lease(const std::string& id);

  RedisPool& redis_;
  const crypto::SecretKey& secret_;
  const Outbound& outbound_;
  int interval_s_;
  std::string instance_ = crypto::to_hex(crypto::random_bytes(8));
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
};

// The hash key of a provider's record.
std::string balance_key(const std::string& provider_id);
// A provider's record as API JSON ({"provider","kind","ok","error","checked_at","read_at",
// "currency","balance","available","key_blocked","spent","windows","failures","next_at",
// "park_until","park_reason"}; unknown values are null).
std::string balance_view(const std::string& provider_id, const std::map<std::string, std::string>& record);
// The records of every stored provider that has one, by provider id.
Result<std::map<std::string, std::map<std::string, std::string>>> read_balances(RedisPool& redis);

}  // namespace lingmo::cp
