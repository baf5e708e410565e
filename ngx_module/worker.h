// Worker: the per-process state of the module — the config snapshot and how it is refreshed,
// the usage ledger and how it is flushed, the vendor HTTP client and the two Redis links.
// Created in init_process of each nginx worker and destroyed in exit_process; nothing survives a
// reload (new workers start fresh).
//
// Refresh (ARCHITECTURE decision 2): every second, and at once on a lingmo:events message, the
// worker reads lingmo:config:version; providers and keys are re-read only when it changed, the
// small provider-state hash every time. If Redis is away, the last snapshot keeps serving.
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/snapshot.h"
#include "failover/circuit.h"
#include "failover/outcome.h"
#include "quota/admission.h"
#include "routing/router.h"
#include "conf.h"
#include "curl_driver.h"
#include "redis_link.h"
#include "sentinel.h"
#include "usage/ledger.h"

namespace lingmo::ngx {

// Something parked until the first snapshot exists (a request arriving right after start).
class SnapshotWaiter {
 public:
  virtual void on_snapshot_ready() = 0;

 protected:
  ~SnapshotWaiter() = default;
};

class Worker {
 public:
  static Worker* instance() { return current_; }
  static ngx_int_t init(ngx_cycle_t* cycle, ngx_http_lingmo_main_conf_t* mcf);
  static void shutdown();

  std::shared_ptr<const config::Snapshot> snapshot() const { return snapshot_; }
  // Wall clock in epoch ms; with `lingmo_test_clock on` shifted by lingmo:test:clock_offset_ms.
  int64_t now_ms() const;
  // Redis unreachable: serving from the last snapshot, quotas counted locally (X-LingMo-Degraded).
  bool degraded() const { return !cmd_.connected(); }
  CurlDriver& curl() { return curl_; }
  const ngx_http_lingmo_main_conf_t& conf() const { return *mcf_; }

  void wait_for_snapshot(SnapshotWaiter* w) { waiters_.push_back(w); }
  void cancel_wait(SnapshotWaiter* w);

  // Adds one attempt's usage; sent to Redis asynchronously and batched.
  void record_usage(const std::string& provider_id, const usage::Counters& c);

  // Provider standing. admit(): the circuit breaker's yes/no before an attempt. report(): what an
  // attempt's outcome means for the provider (park it, cool it down, count toward the breaker);
  // `c` is the classification of a vendor error answer, null for transport failures and success.
  const routing::StateOverlay& overlay() const { return overlay_; }
  bool admit(const std::string& provider_id, int64_t now_ms);
  void report(const config::RuntimeProvider& p, failover::Failure f, const failover::Classification* c,
              const std::map<std::string, std::string>& headers, int64_t now_ms);
  void abandon(const std::string& provider_id);
  void set_state(const std::string& provider_id, const config::ProviderState& st);

  // Quota admission (quota/admission.h): `done` gets 0 = admitted and reserved, i > 0 = rule i is
  // full, -1 = Redis did not answer (the caller fails open). It may run before admit_quota returns.
  void admit_quota(const quota::Plan& plan, std::function<void(long long)> done);
  // Adds to a quota window counter through the usage ledger (batched, idempotent).
  void record_counter(const std::string& key, const usage::Counters& delta, int64_t ttl_s);
  // Admission when Redis did not answer: bounded by what this worker alone admitted in the window
  // (each worker at most one cap per window). Same verdicts as admit_quota.
  long long admit_locally(const quota::Plan& plan);
  void forget(const std::string& provider_id);  // "clear:<id>" from an operator; "*" = all

  // Queues one request-log record (usage/request_log.h) for the capped list in Redis; sent with
  // the next flush. Bounded: while Redis is away the oldest waiting records are dropped first.
  void log_request(std::string record_json);
  bool request_log_on() const { return mcf_->request_log_size > 0; }

 private:
  Worker(ngx_cycle_t* cycle, ngx_http_lingmo_main_conf_t* mcf, RedisEndpoint ep);
  ~Worker();
  static void on_tick(ngx_event_t* ev);
  void refresh();
  void load_config(long long version);
  void install(std::shared_ptr<const config::ConfigSet> cfg, const config::RawHash& states);
  void flush_usage();
  void replay_usage();
  void flush_log();
  void schedule_flush();
  failover::Circuit& circuit(const std::string& provider_id);
  static void on_flush_timer(ngx_event_t* ev);

  static Worker* current_;
  ngx_log_t* log_;
  ngx_http_lingmo_main_conf_t* mcf_;
  CurlDriver curl_;
  std::shared_ptr<const config::Snapshot> snapshot_;
  std::vector<SnapshotWaiter*> waiters_;
  usage::Ledger ledger_;
  routing::StateOverlay overlay_;            // states reported here, until Redis has them
  std::set<std::string> overlay_confirmed_;  // ... whose Redis write was acknowledged
  failover::CircuitBook circuits_;
  std::map<std::string, usage::Counters> local_admitted_;  // fail-open admissions per window key
  int64_t clock_offset_ms_ = 0;
  std::string batch_prefix_;
  uint64_t batch_seq_ = 0;
  bool flush_sent_ = false;
  std::deque<std::string> log_pending_;  // request records not yet sent, oldest first
  bool log_sent_ = false;
  uint64_t log_dropped_ = 0;
  bool warned_empty_ = false;
  ngx_event_t flush_timer_{};
  bool refreshing_ = false;
  bool refresh_again_ = false;
  ngx_event_t tick_{};
  // Redis Sentinel (lingmo_redis sentinel=...): after the command link reaches a master at a new
  // address, the usage batches acknowledged in the last minutes are sent again (ledger retain()).
  std::string master_at_;            // "host:port" the command link last reached
  std::vector<usage::Batch> replay_;  // batches to send again, in order
  size_t replay_pos_ = 0;            // the next one to send
  size_t replay_applied_ = 0;        // ... of which the new master lacked (logged at the end)
  bool replay_sent_ = false;         // a chunk is on the wire
  uint64_t replay_gen_ = 0;          // bumped when replay_ is replaced: older answers are ignored
  // Outlives the links (declared before them): they call forget() on it when destroyed.
  std::unique_ptr<SentinelWatch> sentinel_;
  // Declared last so they are destroyed first: their pending callbacks may touch the members above.
  RedisLink cmd_;
  RedisLink sub_;
};

}  // namespace lingmo::ngx
