#include "sentinel.h"

#include <algorithm>

#include "bridge.h"
#include "net/sentinel.h"

namespace lingmo::ngx {

namespace {
constexpr ngx_msec_t kTimerMs = 500;
constexpr ngx_msec_t kSentinelTimeoutMs = 1000;  // a sentinel this slow is passed over
constexpr unsigned kRecheckTicks = 2;            // ask again every second
constexpr const char* kSwitchChannel = "+switch-master";

std::vector<std::string> strings_of(const redisReply* r) {
  std::vector<std::string> out;
  if (!r || r->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i < r->elements; ++i)
    if (r->element[i]->type == REDIS_REPLY_STRING) out.emplace_back(r->element[i]->str, r->element[i]->len);
  return out;
}

void remove(std::vector<RedisLink*>& v, RedisLink* l) { v.erase(std::remove(v.begin(), v.end(), l), v.end()); }
}  // namespace

SentinelWatch::SentinelWatch(ngx_log_t* log, std::vector<RedisEndpoint> sentinels, std::string master)
    : log_(log),
      sentinels_(std::move(sentinels)),
      master_(std::move(master)),
      query_(log, sentinels_.at(0), "sentinel query"),
      events_(log, sentinels_.at(0), "sentinel events") {
  timer_.data = this;
  timer_.handler = &SentinelWatch::on_timer;
  timer_.log = log_;
  timer_.cancelable = 1;
  // Each lost connection (refused, closed, timed out, or dropped because the sentinel did not
  // know the master) moves that link on to the next sentinel before its retry.
  query_.set_on_down([this] {
    if (!dying_) rotate(query_, query_at_);
  });
  events_.set_on_down([this] {
    if (!dying_) rotate(events_, events_at_);
  });
  query_.set_on_up([this] { ask(); });
  events_.set_on_up([this] {
    events_.subscribe(kSwitchChannel, [this](const std::string& msg) {
      if (dying_) return;
      auto to = net::switch_master(msg, master_, true);
      if (to) moved(to->host, to->port, "+switch-master");
    });
    recheck_ = true;  // a switch may have happened while we were not subscribed
    ask();
  });
}

SentinelWatch::~SentinelWatch() {
  dying_ = true;
  if (timer_.timer_set) ngx_del_timer(&timer_);
}

void SentinelWatch::start() {
  // Start the event link on the second sentinel when there is one: one sentinel going silent
  // then never blinds both.
  if (sentinels_.size() > 1) {
    events_at_ = 1;
    events_.set_endpoint(sentinels_[1]);
  }
  query_.start();
  events_.start();
  ngx_add_timer(&timer_, kTimerMs);
}

void SentinelWatch::follow(RedisLink* link) {
  if (std::find(following_.begin(), following_.end(), link) == following_.end()) following_.push_back(link);
}

void SentinelWatch::locate(RedisLink* link) {
  if (std::find(waiting_.begin(), waiting_.end(), link) == waiting_.end()) waiting_.push_back(link);
  ask();  // never answers synchronously: the answer comes from a reply callback
}

void SentinelWatch::forget(RedisLink* link) {
  remove(waiting_, link);
  remove(following_, link);
}

void SentinelWatch::rotate(RedisLink& link, size_t& at) {
  at = (at + 1) % sentinels_.size();
  link.set_endpoint(sentinels_[at]);
}

void SentinelWatch::on_timer(ngx_event_t* ev) {
  auto* self = static_cast<SentinelWatch*>(ev->data);
  guarded(self->log_, "sentinel timer", [self] {
    // A sentinel that accepted the connection but does not answer (paused, overloaded, a
    // half-open connection) holds no one up for long.
    if (self->query_.oldest_pending_ms() > kSentinelTimeoutMs) self->query_.reset("the sentinel did not answer within 1 s");
    if (self->events_.oldest_pending_ms() > kSentinelTimeoutMs) self->events_.reset("the sentinel did not answer within 1 s");
    if (++self->ticks_ % kRecheckTicks == 0) {
      self->recheck_ = true;
      self->ask();
    }
  });
  ngx_add_timer(&self->timer_, kTimerMs);
}

void SentinelWatch::ask() {
  if (dying_ || asking_ || !query_.connected() || (waiting_.empty() && !recheck_)) return;
  recheck_ = false;
  asking_ = query_.command({"SENTINEL", "get-master-addr-by-name", master_}, [this](redisReply* r) {
    if (dying_) return;
    asking_ = false;
    answered(r);
  });
}

void SentinelWatch::answered(redisReply* r) {
  if (!r) {  // the connection went away: the next one asks again
    recheck_ = true;
    return;
  }
  auto master = net::master_from_reply(strings_of(r), true);
  if (!master) {
    const RedisEndpoint& s = query_.endpoint();
    // Asked again every second: a misconfiguration is logged every 10 s, not every second.
    if (complained_at_ == 0 || ngx_current_msec - complained_at_ >= 10000) {
      complained_at_ = ngx_current_msec;
      if (r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: sentinel %s:%d: %s", s.host.c_str(), s.port, r->str);
      } else if (r->type == REDIS_REPLY_NIL) {
        ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: sentinel %s:%d does not know a master named \"%s\"", s.host.c_str(),
                      s.port, master_.c_str());
      } else {
        ngx_log_error(NGX_LOG_ERR, log_, 0,
                      "lingmo: sentinel %s:%d named master \"%s\" by something other than an IP address and a port "
                      "(workers cannot resolve names: keep announce-hostnames off)",
                      s.host.c_str(), s.port, master_.c_str());
      }
    }
    recheck_ = true;
    query_.reset("no usable answer");  // on to the next sentinel
    return;
  }
  moved(master->host, master->port, "the sentinels");
  std::vector<RedisLink*> ready;
  ready.swap(waiting_);
  for (RedisLink* l : ready) l->located(master->host, master->port);
}

void SentinelWatch::moved(const std::string& host, int port, const char* why) {
  std::string at = net::HostPort{host, port}.str();
  bool changed = at != known_;
  if (changed) {
    if (known_.empty()) {
      ngx_log_error(NGX_LOG_INFO, log_, 0, "lingmo: redis master \"%s\" is at %s", master_.c_str(), at.c_str());
    } else {
      ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: redis master \"%s\" moved from %s to %s (%s)", master_.c_str(), known_.c_str(),
                    at.c_str(), why);
    }
    known_ = at;
  }
  // Copy: reset() runs the link's pending callbacks, which must not see the list change under them.
  std::vector<RedisLink*> links = following_;
  for (RedisLink* l : links) {
    const RedisEndpoint& ep = l->endpoint();
    if (l->active() && (ep.host != host || ep.port != port))
      l->reset("the sentinels name another master");
    else if (changed && !l->active())
      l->retry_now();  // waiting out a backoff after failing to reach the old master: go now
  }
}

}  // namespace lingmo::ngx
