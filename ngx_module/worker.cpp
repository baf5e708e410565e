#include "worker.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "bridge.h"
#include "config/schema.h"
#include "crypto/crypto.h"
#include "failover/penalty.h"
#include "usage/request_log.h"

namespace lingmo::ngx {

namespace {
constexpr ngx_msec_t kTickMs = 1000;
constexpr ngx_msec_t kRedisStallMs = 3000;   // unanswered this long: Redis is treated as gone
constexpr int kBatchMarkerTtlS = 2 * 24 * 3600;
constexpr ngx_msec_t kFlushDelayMs = 100;
constexpr size_t kLogBufferRecords = 5000;  // per worker, waiting for Redis
constexpr size_t kLogBatchRecords = 500;    // per LPUSH
// Sentinel mode: acknowledged usage batches kept for a replay on the new master after a failover.
// The window must cover the time from the last write the old master acknowledged to the moment
// this worker reaches the new one (down-after-milliseconds + the failover + reconnecting).
constexpr int64_t kReplayWindowMs = 120 * 1000;
constexpr size_t kReplayMaxEntries = 20000;  // usage keys in all, per worker
constexpr size_t kReplayChunk = 32;          // batches per round trip

config::RawHash to_map(redisReply* r) {
  config::RawHash m;
  if (!r || r->type != REDIS_REPLY_ARRAY) return m;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    m.emplace(std::string(r->element[i]->str, r->element[i]->len), std::string(r->element[i + 1]->str, r->element[i + 1]->len));
  return m;
}

RedisEndpoint endpoint(const ngx_http_lingmo_main_conf_t& m) {
  RedisEndpoint ep;
  ep.host.assign(reinterpret_cast<const char*>(m.redis_host.data), m.redis_host.len);
  ep.port = static_cast<int>(m.redis_port);
  ep.unix_path.assign(reinterpret_cast<const char*>(m.redis_unix.data), m.redis_unix.len);
  ep.password.assign(reinterpret_cast<const char*>(m.redis_password.data), m.redis_password.len);
  ep.db = static_cast<int>(m.redis_db);
  return ep;
}

std::vector<RedisEndpoint> sentinel_endpoints(const ngx_http_lingmo_main_conf_t& m) {
  std::vector<RedisEndpoint> out;
  if (!m.redis_sentinels) return out;
  const auto* s = static_cast<const ngx_http_lingmo_redis_addr_t*>(m.redis_sentinels->elts);
  for (ngx_uint_t i = 0; i < m.redis_sentinels->nelts; ++i) {
    RedisEndpoint ep;
    ep.host.assign(reinterpret_cast<const char*>(s[i].host.data), s[i].host.len);
    ep.port = static_cast<int>(s[i].port);
    ep.password.assign(reinterpret_cast<const char*>(m.redis_sentinel_password.data), m.redis_sentinel_password.len);
    ep.sentinel = true;
    out.push_back(std::move(ep));
  }
  return out;
}
}  // namespace

Worker* Worker::current_ = nullptr;

ngx_int_t Worker::init(ngx_cycle_t* cycle, ngx_http_lingmo_main_conf_t* mcf) {
  try {
    current_ = new Worker(cycle, mcf, endpoint(*mcf));
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "lingmo: worker init failed: %s", e.what());
    return NGX_ERROR;
  }
  if (!current_->curl_.ok()) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "lingmo: curl_multi_init failed");
    return NGX_ERROR;
  }
  return NGX_OK;
}

void Worker::shutdown() {
  delete current_;
  current_ = nullptr;
}

Worker::Worker(ngx_cycle_t* cycle, ngx_http_lingmo_main_conf_t* mcf, RedisEndpoint ep)
    : log_(cycle->log), mcf_(mcf), curl_(cycle->log), cmd_(cycle->log, ep, "command"), sub_(cycle->log, ep, "subscriber") {
  batch_prefix_ = crypto::to_hex(crypto::random_bytes(6)) + "-" + std::to_string(ngx_pid) + "-";
  tick_.data = this;
  tick_.handler = &Worker::on_tick;
  tick_.log = log_;
  tick_.cancelable = 1;
  flush_timer_.data = this;
  flush_timer_.handler = &Worker::on_flush_timer;
  flush_timer_.log = log_;
  flush_timer_.cancelable = 1;
  cmd_.set_on_up([this] {
    refreshing_ = false;
    const RedisEndpoint& at = cmd_.endpoint();
    std::string where = at.host + ":" + std::to_string(at.port);
    if (sentinel_ && !master_at_.empty() && where != master_at_) {
      // A failover: the new master may lack what the old one acknowledged last (asynchronous
      // replication, or writes that reached the old master after the promotion). Each batch's
      // marker makes those that did arrive no-ops.
      replay_ = ledger_.recent(static_cast<int64_t>(ngx_current_msec));
      ++replay_gen_;
      replay_pos_ = 0;
      replay_applied_ = 0;
      ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: redis master moved from %s to %s: sending the %uz usage batches of the last %L s again",
                    master_at_.c_str(), where.c_str(), replay_.size(), static_cast<long long>(kReplayWindowMs / 1000));
    }
    master_at_ = where;
    refresh();
    flush_usage();
    replay_usage();
    flush_log();
  });
  sub_.set_on_up([this] {
    sub_.subscribe(schema::kEventsChannel, [this](const std::string& msg) {
      if (msg.rfind(schema::kClearPrefix, 0) == 0) forget(msg.substr(std::strlen(schema::kClearPrefix)));
      if (refreshing_) refresh_again_ = true; else refresh();
    });
  });
  auto sentinels = sentinel_endpoints(*mcf);
  if (!sentinels.empty()) {
    sentinel_ = std::make_unique<SentinelWatch>(log_, std::move(sentinels), std::string(reinterpret_cast<const char*>(mcf->redis_master.data), mcf->redis_master.len));
    for (RedisLink* l : {&cmd_, &sub_}) {
      l->set_locator(sentinel_.get());
      sentinel_->follow(l);
    }
    ledger_.retain(kReplayWindowMs, kReplayMaxEntries);
    sentinel_->start();
  }
  cmd_.start();
  sub_.start();
  ngx_add_timer(&tick_, kTickMs);
}

Worker::~Worker() {
  if (tick_.timer_set) ngx_del_timer(&tick_);
  if (flush_timer_.timer_set) ngx_del_timer(&flush_timer_);
  for (SnapshotWaiter* w : std::vector<SnapshotWaiter*>(waiters_)) w->on_snapshot_ready();
}

void Worker::cancel_wait(SnapshotWaiter* w) { waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end()); }

void Worker::on_tick(ngx_event_t* ev) {
  auto* self = static_cast<Worker*>(ev->data);
  guarded(self->log_, "tick", [self] {
    if (self->cmd_.oldest_pending_ms() > kRedisStallMs) self->cmd_.reset("no reply for 3 s");
    self->refresh();
    self->flush_usage();
    self->replay_usage();
    self->flush_log();
  });
  ngx_add_timer(&self->tick_, kTickMs);
}

int64_t Worker::now_ms() const {
  ngx_time_t* tp = ngx_timeofday();
  return static_cast<int64_t>(tp->sec) * 1000 + static_cast<int64_t>(tp->msec) + clock_offset_ms_;
}

void Worker::refresh() {
  if (refreshing_ || !cmd_.connected()) return;
  if (mcf_->test_clock)
    cmd_.command({"GET", "lingmo:test:clock_offset_ms"}, [this](redisReply* r) {
      if (r && r->type == REDIS_REPLY_STRING) clock_offset_ms_ = std::atoll(r->str);
      if (r && r->type == REDIS_REPLY_NIL) clock_offset_ms_ = 0;
    });
  refreshing_ = true;
  refresh_again_ = false;
  cmd_.command({"GET", schema::kConfigVersion}, [this](redisReply* r) {
    if (!r || r->type == REDIS_REPLY_ERROR) {
      refreshing_ = false;
      return;
    }
    long long version = r->type == REDIS_REPLY_STRING ? std::atoll(r->str) : 0;
    if (r->type == REDIS_REPLY_NIL && snapshot_ && snapshot_->config().version > 0) {
      // Every config write increments the version, so a missing one means Redis lost its data
      // (restarted without persistence, flushed). Keep serving the last good configuration.
      if (!warned_empty_)
        ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: %s is missing in Redis; keeping config version %L",
                      schema::kConfigVersion, snapshot_->config().version);
      warned_empty_ = true;
      refreshing_ = false;
      return;
    }
    warned_empty_ = false;
    if (!snapshot_ || snapshot_->config().version != version) {
      load_config(version);
      return;
    }
    cmd_.command({"HGETALL", schema::kProviderState}, [this](redisReply* s) {
      refreshing_ = false;
      if (s && s->type == REDIS_REPLY_ARRAY) install(snapshot_->config_ptr(), to_map(s));
      if (refresh_again_) refresh();
    });
  });
}

void Worker::load_config(long long version) {
  // Four pipelined reads; the last reply assembles the snapshot.
  auto parts = std::make_shared<std::array<config::RawHash, 4>>();
  auto failed = std::make_shared<bool>(false);
  const char* keys[] = {schema::kProviders, schema::kGatewayKeys, schema::kSettings, schema::kProviderState};
  for (int i = 0; i < 4; ++i) {
    cmd_.command({"HGETALL", keys[i]}, [this, i, parts, failed, version](redisReply* r) {
      if (!r || r->type != REDIS_REPLY_ARRAY) {
        *failed = true;
      } else {
        (*parts)[i] = to_map(r);
      }
      if (i != 3) return;
      refreshing_ = false;
      if (*failed) return;
      auto cfg = config::Snapshot::build_config(version, (*parts)[0], (*parts)[1], mcf_->secret, (*parts)[2]);
      for (const auto& w : cfg->warnings) ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: %s", w.c_str());
      ngx_log_error(NGX_LOG_INFO, log_, 0, "lingmo: config version %L loaded: %uz providers, %uz keys", version,
                    cfg->providers.size(), cfg->keys_by_hash.size());
      install(std::move(cfg), (*parts)[3]);
      if (refresh_again_) refresh();
    });
  }
}

void Worker::install(std::shared_ptr<const config::ConfigSet> cfg, const config::RawHash& states) {
  snapshot_ = std::make_shared<const config::Snapshot>(std::move(cfg), config::Snapshot::parse_states(states));
  // Redis is the truth again for what it acknowledged (an admin's `state clear` included).
  for (const auto& id : overlay_confirmed_) overlay_.erase(id);
  overlay_confirmed_.clear();
  std::vector<SnapshotWaiter*> ready;
  ready.swap(waiters_);
  for (SnapshotWaiter* w : ready) w->on_snapshot_ready();
}

void Worker::record_usage(const std::string& provider_id, const usage::Counters& c) {
  int64_t now = now_ms();
  record_counter(schema::usage_key(provider_id, usage::utc_day(now)), c, 0);
  record_counter(schema::hourly_usage_key(provider_id, usage::utc_hour(now)), c, schema::kHourlyUsageTtlS);
}

void Worker::schedule_flush() {
  // A short delay lets increments from concurrent requests share one Redis round trip.
  if (!flush_timer_.timer_set && !flush_sent_) ngx_add_timer(&flush_timer_, kFlushDelayMs);
}

void Worker::on_flush_timer(ngx_event_t* ev) {
  auto* self = static_cast<Worker*>(ev->data);
  guarded(self->log_, "flush", [self] {
    self->flush_usage();
    self->flush_log();
  });
}

void Worker::log_request(std::string record_json) {
  if (mcf_->request_log_size == 0) return;
  if (log_pending_.size() >= kLogBufferRecords) {
    log_pending_.pop_front();
    if (log_dropped_++ % 1000 == 0)
      ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: request log buffer full (Redis slow or away): dropping the oldest records");
  }
  log_pending_.push_back(std::move(record_json));
  if (!flush_timer_.timer_set) ngx_add_timer(&flush_timer_, kFlushDelayMs);
}

// Records go out oldest first (LPUSH of several values puts the last one at the head), the list is
// trimmed in the same pipeline. At most once: a batch whose reply is lost is not resent (a
// duplicate log row would be worse than a missing one; usage counters are exact regardless).
void Worker::flush_log() {
  if (log_sent_ || log_pending_.empty() || !cmd_.connected()) return;
  size_t n = std::min(log_pending_.size(), kLogBatchRecords);
  std::vector<std::string> argv{"LPUSH", usage::kRequestLogKey};
  argv.insert(argv.end(), log_pending_.begin(), log_pending_.begin() + static_cast<std::ptrdiff_t>(n));
  log_sent_ = cmd_.command(argv, [this](redisReply* r) {
    log_sent_ = false;
    if (r && r->type == REDIS_REPLY_ERROR)
      ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: request log write failed: %s", r->str);
    // A full batch waiting goes out at once (under load one LPUSH per 100 ms would not keep up);
    // a partial one waits for the timer, to gather more.
    if (log_pending_.size() >= kLogBatchRecords) flush_log();
    else if (!log_pending_.empty() && !flush_timer_.timer_set) ngx_add_timer(&flush_timer_, kFlushDelayMs);
  });
  if (!log_sent_) return;
  log_pending_.erase(log_pending_.begin(), log_pending_.begin() + static_cast<std::ptrdiff_t>(n));
  cmd_.command({"LTRIM", usage::kRequestLogKey, "0", std::to_string(mcf_->request_log_size - 1)}, nullptr);
}

void Worker::flush_usage() {
  // One batch on the wire at a time: under load, increments aggregate while it travels. A batch
  // whose reply never came (connection lost) is resent with the same id; the script's marker key
  // makes the replay a no-op if the first send did land.
  if (flush_sent_ || !cmd_.connected()) return;
  const usage::Batch* b = ledger_.take_batch(batch_prefix_ + std::to_string(++batch_seq_));
  if (!b) return;
  flush_sent_ = cmd_.command(usage::Ledger::eval_args(*b, schema::usage_batch_key(b->id), kBatchMarkerTtlS),
                             [this](redisReply* r) {
                               flush_sent_ = false;
                               if (r && r->type == REDIS_REPLY_INTEGER) {
                                 ledger_.ack(static_cast<int64_t>(ngx_current_msec));
                                 if (ledger_.has_pending()) schedule_flush();
                               } else if (r) {
                                 ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: usage flush failed: %s",
                                               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
                               }
                             });
}

// Sends the batches of replay_ again, a chunk per round trip. A chunk with a missing or failed
// answer is sent again later (the tick, or the next connection): replaying is idempotent.
void Worker::replay_usage() {
  if (replay_sent_ || replay_pos_ >= replay_.size() || !cmd_.connected()) return;
  size_t end = std::min(replay_.size(), replay_pos_ + kReplayChunk);
  auto left = std::make_shared<size_t>(0);
  auto ok = std::make_shared<bool>(true);
  auto applied = std::make_shared<size_t>(0);
  uint64_t gen = replay_gen_;
  for (size_t i = replay_pos_; i < end; ++i) {
    const usage::Batch& b = replay_[i];
    ++*left;
    replay_sent_ = true;
    bool sent = cmd_.command(usage::Ledger::eval_args(b, schema::usage_batch_key(b.id), kBatchMarkerTtlS),
                             [this, left, ok, applied, end, gen](redisReply* r) {
                               if (r && r->type == REDIS_REPLY_INTEGER) *applied += r->integer == 1 ? 1 : 0;
                               else *ok = false;
                               if (--*left > 0) return;
                               replay_sent_ = false;
                               if (!*ok || gen != replay_gen_) return;  // failed: again from the same chunk
                               replay_applied_ += *applied;
                               replay_pos_ = end;
                               if (replay_pos_ < replay_.size()) return replay_usage();
                               ngx_log_error(NGX_LOG_WARN, log_, 0,
                                             "lingmo: usage replay done: %uz of %uz batches had not reached the new master",
                                             replay_applied_, replay_.size());
                               replay_.clear();
                               replay_pos_ = 0;
                             });
    if (!sent) {
      --*left;
      *ok = false;
      if (*left == 0) replay_sent_ = false;
      break;
    }
  }
}

void Worker::forget(const std::string& provider_id) {
  if (provider_id == "*") {
    circuits_.clear();
    overlay_.clear();
    overlay_confirmed_.clear();
    return;
  }
  circuits_.erase(provider_id);
  overlay_.erase(provider_id);
  overlay_confirmed_.erase(provider_id);
}

failover::Circuit& Worker::circuit(const std::string& provider_id) {
  failover::CircuitPolicy policy;
  policy.failures_to_open = static_cast<int>(mcf_->circuit_failures);
  policy.cooldown_ms = static_cast<int64_t>(mcf_->circuit_cooldown);
  return circuits_.try_emplace(provider_id, policy).first->second;
}

bool Worker::admit(const std::string& provider_id, int64_t now_ms) { return circuit(provider_id).admit(now_ms); }

void Worker::abandon(const std::string& provider_id) {
  if (auto it = circuits_.find(provider_id); it != circuits_.end()) it->second.on_abandon();
}

void Worker::report(const config::RuntimeProvider& p, failover::Failure f, const failover::Classification* c,
                    const std::map<std::string, std::string>& headers, int64_t now_ms) {
  using failover::Failure;
  failover::Circuit& breaker = circuit(p.cfg.id);
  switch (f) {
    case Failure::kServer:
    case Failure::kConnect:
    case Failure::kFirstByteTimeout:
    case Failure::kIdleTimeout:
    case Failure::kMalformed:
    case Failure::kInterrupted:
    {
      int64_t was_until = breaker.open() ? breaker.open_until_ms() : -1;
      breaker.on_failure(now_ms);
      if (breaker.open() && breaker.open_until_ms() != was_until) {
        ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: circuit open for provider %s (retry at %L)", p.cfg.id.c_str(),
                      static_cast<long long>(breaker.open_until_ms()));
        // For the control plane (quota monitor, circuit_open alerts); routing never reads it back:
        // breakers stay per worker (ARCHITECTURE decision 4).
        config::CircuitNote note{now_ms, breaker.open_until_ms(), failover::failure_name(f), static_cast<int64_t>(ngx_pid)};
        cmd_.command({"HSET", schema::kCircuits, p.cfg.id, schema::to_json(note)}, nullptr);
      }
      break;
    }
    default:
      breaker.on_success();  // the vendor answered: it is reachable, whatever it said
  }
  std::optional<config::ProviderState> st;
  if (c) {
    // The vendor says "exhausted" without saying until when: the provider's own rules know —
    // the latest reset among its windowed rules (a daily quota comes back at the day's end).
    failover::PenaltyPolicy policy;
    for (size_t i = 0; i < p.cfg.quotas.size() && i < p.zones.size(); ++i)
      if (p.cfg.quotas[i].window != quota::Window::kOneOff)
        policy.quota_reset_ms = std::max(policy.quota_reset_ms, p.cfg.quotas[i].span(now_ms / 1000, *p.zones[i]).end_s * 1000);
    st = failover::penalty(f, *c, p.fingerprint, now_ms, policy);
  }
  if (!st) st = failover::from_rate_headers(headers, now_ms);
  if (st) set_state(p.cfg.id, *st);
}

void Worker::set_state(const std::string& provider_id, const config::ProviderState& st) {
  if (auto it = overlay_.find(provider_id); it != overlay_.end() && it->second.unusable_until_ms > st.unusable_until_ms)
    return;  // already parked for longer
  overlay_[provider_id] = st;
  overlay_confirmed_.erase(provider_id);
  ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: provider %s parked (%s) for %L ms: %s", provider_id.c_str(), st.kind.c_str(),
                static_cast<long long>(st.unusable_until_ms - static_cast<int64_t>(ngx_time()) * 1000), st.reason.c_str());
  std::string id = provider_id;
  cmd_.command({"EVAL", schema::kSetStateScript, "1", schema::kProviderState, id, schema::to_json(st),
                std::to_string(st.unusable_until_ms)},
               [this, id](redisReply* r) {
                 if (r && r->type == REDIS_REPLY_INTEGER) {
                   overlay_confirmed_.insert(id);
                   cmd_.command({"PUBLISH", schema::kEventsChannel, "state"}, nullptr);
                 }
               });
}

void Worker::admit_quota(const quota::Plan& plan, std::function<void(long long)> done) {
  if (!cmd_.connected() || !cmd_.command(quota::admit_args(plan), [done](redisReply* r) {
        done(r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1);
      }))
    done(-1);
}

void Worker::record_counter(const std::string& key, const usage::Counters& delta, int64_t ttl_s) {
  if (!ledger_.add(key, delta, ttl_s))
    ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: usage buffer full, dropped an increment for %s", key.c_str());
  schedule_flush();
}

long long Worker::admit_locally(const quota::Plan& plan) {
  if (local_admitted_.size() > 4096) local_admitted_.clear();  // old windows; bounded memory
  auto field = [](const usage::Counters& c, const std::string& metric) {
    if (metric == "requests") return c.requests;
    if (metric == "prompt_tokens") return c.prompt_tokens;
    if (metric == "completion_tokens") return c.completion_tokens;
    return c.total_tokens;
  };
  for (size_t i = 0; i < plan.items.size(); ++i) {
    const auto& it = plan.items[i];
    int64_t used = field(local_admitted_[it.key], it.metric);
    if (used >= it.cap || used + field(plan.estimate, it.metric) > it.cap) return static_cast<long long>(i + 1);
  }
  for (const auto& it : plan.items) local_admitted_[it.key].add(plan.estimate);
  return 0;
}

}  // namespace lingmo::ngx
