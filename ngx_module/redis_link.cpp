#include "redis_link.h"

#include <memory>

#include "bridge.h"
#include "net/sentinel.h"

namespace lingmo::ngx {

namespace {
constexpr ngx_msec_t kMaxBackoff = 2000;
struct Pending {
  RedisLink::Callback cb;
};
}  // namespace

RedisLink::RedisLink(ngx_log_t* log, RedisEndpoint ep, const char* role) : log_(log), ep_(std::move(ep)), role_(role) {
  retry_.data = this;
  retry_.handler = &RedisLink::on_retry;
  retry_.log = log_;
  retry_.cancelable = 1;
}

RedisLink::~RedisLink() {
  if (retry_.timer_set) ngx_del_timer(&retry_);
  if (locator_) locator_->forget(this);
  on_up_ = nullptr;
  on_down_ = nullptr;
  if (ac_) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    ac->data = nullptr;  // callbacks fired during free must not touch this object
    redisAsyncFree(ac);  // runs pending callbacks with null, then ev_cleanup
  }
}

void RedisLink::start() {
  if (!locator_) return connect();
  if (locating_ || ac_) return;
  locating_ = true;
  locator_->locate(this);  // answers later with located()
}

void RedisLink::located(const std::string& host, int port) {
  if (!locating_) return;
  locating_ = false;
  ep_.host = host;
  ep_.port = port;
  ep_.unix_path.clear();
  connect();
}

void RedisLink::retry_now() {
  if (ac_ || locating_) return;
  if (retry_.timer_set) ngx_del_timer(&retry_);
  start();
}

void RedisLink::connect() {
  ac_ = ep_.unix_path.empty() ? redisAsyncConnect(ep_.host.c_str(), ep_.port) : redisAsyncConnectUnix(ep_.unix_path.c_str());
  if (!ac_ || ac_->err) {
    ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: redis %s connect to %s:%d failed: %s", role_, ep_.host.c_str(), ep_.port,
                  ac_ ? ac_->errstr : "out of memory");
    if (ac_) redisAsyncFree(ac_);
    ac_ = nullptr;
    lost("connect failed");
    return;
  }
  ac_->data = this;
  conn_ = ngx_get_connection(ac_->c.fd, log_);
  if (!conn_) {
    redisAsyncFree(ac_);
    ac_ = nullptr;
    lost("no free connection");
    return;
  }
  conn_->data = this;
  conn_->read->handler = conn_->write->handler = &RedisLink::on_io;
  conn_->read->log = conn_->write->log = log_;
  ac_->ev.data = this;
  ac_->ev.addRead = &RedisLink::ev_add_read;
  ac_->ev.delRead = &RedisLink::ev_del_read;
  ac_->ev.addWrite = &RedisLink::ev_add_write;
  ac_->ev.delWrite = &RedisLink::ev_del_write;
  ac_->ev.cleanup = &RedisLink::ev_cleanup;
  redisAsyncSetConnectCallback(ac_, &RedisLink::on_connect);
  redisAsyncSetDisconnectCallback(ac_, &RedisLink::on_disconnect);
  // The setup is pipelined: AUTH, then SELECT (PING for a sentinel, which has no databases), then
  // with a locator ROLE. hiredis learns the connect finished when it first writes, so always
  // queue a command. A setup error leaves the link down (logged), as a wrong password would.
  auto failed = std::make_shared<bool>(false);
  if (!ep_.password.empty()) command({"AUTH", ep_.password}, nullptr);
  std::vector<std::string> probe{"PING"};
  if (!ep_.sentinel) probe = {"SELECT", std::to_string(ep_.db)};
  command(probe, [this, failed](redisReply* r) {
    if (!r) return;
    if (r->type == REDIS_REPLY_ERROR) {
      *failed = true;
      ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: redis %s setup failed: %s", role_, r->str);
      return;
    }
    if (!locator_) ready();
  });
  if (!locator_) return;
  // A demoted master may still accept connections (Sentinel reconfigures it some seconds after
  // the switch), so what the sentinels said is checked against what the node says it is.
  command({"ROLE"}, [this, failed](redisReply* r) {
    if (!r || *failed) return;
    if (r->type == REDIS_REPLY_ERROR) {
      // ROLE is in @admin: an ACL may refuse it. READONLY replies still send the link back.
      if (!warned_role_) {
        ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: redis %s: cannot check the node's role (%s); relying on READONLY replies",
                      role_, r->str);
      }
      warned_role_ = true;
      return ready();
    }
    std::string role;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING)
      role.assign(r->element[0]->str, r->element[0]->len);
    if (role == "master") return ready();
    ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: redis %s: %s:%d is a %s, not the master; asking the sentinels again", role_,
                  ep_.host.c_str(), ep_.port, role.empty() ? "node of unknown role" : role.c_str());
    reset("not the master");
  });
}

void RedisLink::ready() {
  up_ = true;
  backoff_ = 100;
  if (ep_.unix_path.empty()) {
    ngx_log_error(NGX_LOG_INFO, log_, 0, "lingmo: redis %s connected to %s:%d", role_, ep_.host.c_str(), ep_.port);
  } else {
    ngx_log_error(NGX_LOG_INFO, log_, 0, "lingmo: redis %s connected", role_);
  }
  if (on_up_) on_up_();
}

bool RedisLink::command(const std::vector<std::string>& argv, Callback cb) {
  if (!ac_) return false;
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* p = new Pending{std::move(cb)};
  if (redisAsyncCommandArgv(ac_, &RedisLink::on_reply, p, static_cast<int>(args.size()), args.data(), lens.data()) != REDIS_OK) {
    delete p;
    return false;
  }
  pending_since_.push_back(static_cast<ngx_msec_t>(ngx_current_msec));
  return true;
}

bool RedisLink::subscribe(const std::string& channel, std::function<void(const std::string&)> on_message) {
  if (!ac_) return false;
  on_message_ = std::move(on_message);
  const char* argv[] = {"SUBSCRIBE", channel.c_str()};
  size_t lens[] = {9, channel.size()};
  return redisAsyncCommandArgv(ac_, &RedisLink::on_sub_reply, this, 2, argv, lens) == REDIS_OK;
}

ngx_msec_t RedisLink::oldest_pending_ms() const {
  return pending_since_.empty() ? 0 : ngx_current_msec - pending_since_.front();
}

void RedisLink::reset(const char* why) {
  if (!ac_) return;
  ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: redis %s reset: %s", role_, why);
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  ac->data = nullptr;
  redisAsyncFree(ac);  // pending callbacks run with null replies
  lost(why);
}

void RedisLink::on_reply(redisAsyncContext* ac, void* reply, void* priv) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self && !self->pending_since_.empty()) self->pending_since_.pop_front();
  auto* p = static_cast<Pending*>(priv);
  auto* r = static_cast<redisReply*>(reply);
  if (p->cb) guarded(self ? self->log_ : ngx_cycle->log, "redis reply", [&] { p->cb(r); });
  delete p;
  // Behind a locator, a node that answers as a replica was demoted while we were connected (a
  // failover): drop it and ask where the master is now. `self->ac_ == ac` skips a link that the
  // callback already reset.
  if (self && self->locator_ && self->ac_ == ac && r && r->type == REDIS_REPLY_ERROR &&
      net::is_replica_error(std::string_view(r->str, r->len)))
    self->reset("the node answers as a replica");
}

void RedisLink::on_sub_reply(redisAsyncContext* ac, void* reply, void* priv) {
  auto* self = static_cast<RedisLink*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (!self || !r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  if (r->element[0]->type == REDIS_REPLY_STRING && std::string_view(r->element[0]->str, r->element[0]->len) == "message" &&
      self->on_message_)
    guarded(self->log_, "redis message", [&] { self->on_message_(std::string(r->element[2]->str, r->element[2]->len)); });
}

void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (!self || status == REDIS_OK) return;
  // hiredis frees the context after a failed connect.
  ngx_log_error(NGX_LOG_ERR, self->log_, 0, "lingmo: redis %s connect to %s:%d failed: %s", self->role_, self->ep_.host.c_str(),
                self->ep_.port, ac->errstr);
  self->ac_ = nullptr;
  guarded(self->log_, "redis connect", [&] { self->lost("connect failed"); });
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (!self) return;
  self->ac_ = nullptr;  // hiredis frees it after this callback
  guarded(self->log_, "redis disconnect", [&] { self->lost(status == REDIS_OK ? "closed" : ac->errstr); });
}

void RedisLink::lost(const char* why) {
  if (up_) ngx_log_error(NGX_LOG_WARN, log_, 0, "lingmo: redis %s connection lost: %s", role_, why);
  up_ = false;
  pending_since_.clear();
  if (on_down_) on_down_();
  schedule_retry();
}

void RedisLink::schedule_retry() {
  if (!retry_.timer_set) ngx_add_timer(&retry_, backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void RedisLink::on_retry(ngx_event_t* ev) {
  auto* self = static_cast<RedisLink*>(ev->data);
  if (!self->ac_ && !self->locating_) guarded(self->log_, "redis reconnect", [self] { self->start(); });
}

void RedisLink::on_io(ngx_event_t* ev) {
  auto* c = static_cast<ngx_connection_t*>(ev->data);
  auto* self = static_cast<RedisLink*>(c->data);
  if (!self->ac_) return;
  if (ev->write)
    redisAsyncHandleWrite(self->ac_);
  else
    redisAsyncHandleRead(self->ac_);
}

void RedisLink::ev_add_read(void* p) { want_event(static_cast<RedisLink*>(p)->conn_->read, true, NGX_READ_EVENT); }
void RedisLink::ev_del_read(void* p) { want_event(static_cast<RedisLink*>(p)->conn_->read, false, NGX_READ_EVENT); }
void RedisLink::ev_add_write(void* p) { want_event(static_cast<RedisLink*>(p)->conn_->write, true, NGX_WRITE_EVENT); }
void RedisLink::ev_del_write(void* p) { want_event(static_cast<RedisLink*>(p)->conn_->write, false, NGX_WRITE_EVENT); }

void RedisLink::ev_cleanup(void* p) {
  auto* self = static_cast<RedisLink*>(p);
  if (self->conn_) {
    release_foreign_connection(self->conn_);
    self->conn_ = nullptr;
  }
}

}  // namespace lingmo::ngx
