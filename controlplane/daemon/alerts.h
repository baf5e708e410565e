// Alerts: channels (where to send), rules (which events go to which channels), the engine that
// turns quota and provider state into events, and the dispatcher that delivers them.
//   lingmo:alert:channels    hash id -> {"id","name","type","enabled","url","secret_sealed","chat_id",
//                            "smtp_user","smtp_password_sealed","from","to":[...]}
//   lingmo:alert:rules       hash id -> {"id","event","channels":[ids],"cooldown_s","enabled"} (+ "at","tz": digest)
//   lingmo:alert:fired:<rule>:<event key>   de-duplication (SET NX EX cooldown)
//   lingmo:alert:deliveries  list, newest first, 1,000 kept: what was sent where, and how it went
// Events: warn_level (a quota rule crossed one of settings.warn_levels), switched (a provider
// reached its switch threshold), exhausted (the vendor said its quota is gone), key_invalid (the
// vendor refused our key), all_exhausted (every provider of a model is parked), balance_low (a
// vendor balance under the rule's min_balance), sync_failing (the balance sync failed the rule's
// `failures` times in a row), circuit_open (an nginx worker's breaker opened: lingmo:circuits); digest rules
// (a daily summary) are sent by alert_digest.h. Deliveries run on
// their own threads (4, each call bounded to 10-15 s) with a bounded queue: a dead channel delays
// nothing else unless four of them hang at once.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alerts/message.h"
#include "crypto/crypto.h"
#include "outbound.h"
#include "redis_pool.h"

namespace lingmo::cp {

// Redis keys (docs/KEY_SCHEMA.md).
inline constexpr const char* kAlertChannels = "lingmo:alert:channels";
inline constexpr const char* kAlertRules = "lingmo:alert:rules";
inline constexpr const char* kAlertDeliveries = "lingmo:alert:deliveries";
inline constexpr const char* kAlertFiredPrefix = "lingmo:alert:fired:";  // + <rule id>:<event key>
// Channel fields kept sealed, with "alert-channel:<id>" as associated data.
inline constexpr const char* kChannelSealedFields[] = {"url_sealed", "secret_sealed", "smtp_password_sealed"};
inline std::string channel_aad(const std::string& id) { return "alert-channel:" + id; }

inline constexpr const char* kAlertEvents[] = {"warn_level", "switched", "exhausted", "key_invalid", "all_exhausted",
                                               "digest",  // digest: alert_digest.h
                                               "balance_low", "sync_failing",  // from the balance sync (balance_sync.h)
                                               "circuit_open"};  // a worker's breaker opened (lingmo:circuits)
inline constexpr const char* kChannelTypes[] = {"webhook", "dingtalk", "feishu", "wecom", "slack", "telegram", "email"};

struct DeliveryResult {
  bool ok = false;
  long status = 0;
  int64_t latency_ms = 0;
  std::string error;
};

class Dispatcher {
 public:
  static constexpr size_t kQueueLimit = 200;
  Dispatcher(RedisPool& redis, const crypto::SecretKey& secret, const Outbound& outbound)
      : redis_(redis), secret_(secret), outbound_(outbound) {}
  ~Dispatcher() { stop(); }
  void start(int threads = 4);
  void stop();
  // Queues a delivery of `e` to the stored channel `channel_id` (dropped, and recorded so, when
  // the queue is full).
  void enqueue(const std::string& channel_id, const alerts::Event& e);
  // Sends now (the test-send endpoint) and records the outcome.
  DeliveryResult send_now(const std::string& channel_json, const alerts::Event& e);

 private:
  void record(const std::string& channel_id, const alerts::Event& e, const DeliveryResult& r);
  RedisPool& redis_;
  const crypto::SecretKey& secret_;
  const Outbound& outbound_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, alerts::Event>> queue_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // set by stop(): deliveries in flight are aborted, not awaited
};

// Looks at quota and provider state and fires what the rules ask for. Runs in the quota sampler's
// loop (under its lease: one replica evaluates).
void evaluate_alerts(RedisPool& redis, Dispatcher& dispatcher, int64_t now_ms);

}  // namespace lingmo::cp
