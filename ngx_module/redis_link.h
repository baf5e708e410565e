// RedisLink: one hiredis async connection registered with nginx's event loop (ARCHITECTURE
// decision 1: the worker never blocks). Connects to an IP or a unix socket only (names are
// resolved at config time), authenticates and selects the db, reconnects with backoff, and can be
// reset when Redis stops answering (a paused Redis must not stall anything).
//
// With a locator (Redis Sentinel, sentinel.h) the link does not keep one address: before every
// (re)connect it asks the locator where the master is, checks with ROLE that the node it reached
// is a master, and drops the connection (to ask again) when the node answers a command with
// READONLY / MASTERDOWN, i.e. a failover demoted it while we were connected.
#pragma once
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "nginx.h"

namespace lingmo::ngx {

struct RedisEndpoint {
  std::string host;  // IP literal
  int port = 6379;
  std::string unix_path;
  std::string password;
  int db = 0;
  bool sentinel = false;  // a Redis Sentinel: no SELECT (it has no databases)
};

class RedisLink;

// Finds the address a link should connect to (the master named by the sentinels). locate() must
// answer later, never from inside the call, with link->located(); forget() is called by a link
// being destroyed, which must then never be answered.
class RedisLocator {
 public:
  virtual void locate(RedisLink* link) = 0;
  virtual void forget(RedisLink* link) = 0;

 protected:
  ~RedisLocator() = default;
};

class RedisLink {
 public:
  // `reply` is null when the connection went away before the answer.
  using Callback = std::function<void(redisReply* reply)>;

  RedisLink(ngx_log_t* log, RedisEndpoint ep, const char* role);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  void start();  // connect now (with a locator: ask it first); keeps reconnecting until destroyed
  bool connected() const { return ac_ != nullptr && up_; }
  // A connection exists or is being set up (false while waiting for the locator or a retry).
  bool active() const { return ac_ != nullptr; }
  const RedisEndpoint& endpoint() const { return ep_; }
  // Where the next connection goes (the sentinel links rotate through the sentinels this way).
  void set_endpoint(RedisEndpoint ep) { ep_ = std::move(ep); }
  // Before start(): every (re)connect asks `l` for the address, and the node must be a master.
  void set_locator(RedisLocator* l) { locator_ = l; }
  // The locator's answer: connect to host:port now (an IP literal; password and db stay).
  void located(const std::string& host, int port);
  // Without a connection: skip the rest of the backoff and (re)connect now (the master moved).
  void retry_now();
  // Queues a command (pipelined with any others). False when not connected.
  bool command(const std::vector<std::string>& argv, Callback cb);
  // Subscribes; `on_message` runs for every message (and on_up_ after each reconnect).
  void set_on_up(std::function<void()> f) { on_up_ = std::move(f); }
  // Runs whenever a connection (or an attempt) is lost, before the retry is scheduled.
  void set_on_down(std::function<void()> f) { on_down_ = std::move(f); }
  bool subscribe(const std::string& channel, std::function<void(const std::string&)> on_message);
  // Milliseconds the oldest unanswered command has waited (0 if none).
  ngx_msec_t oldest_pending_ms() const;
  // Drops the connection (e.g. Redis stopped answering); pending callbacks get null replies.
  // Safe inside a reply callback of this link (hiredis frees the context after it returns).
  void reset(const char* why);

 private:
  void connect();
  void ready();
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* priv);
  static void on_sub_reply(redisAsyncContext* ac, void* reply, void* priv);
  static void ev_add_read(void* p);
  static void ev_del_read(void* p);
  static void ev_add_write(void* p);
  static void ev_del_write(void* p);
  static void ev_cleanup(void* p);
  static void on_io(ngx_event_t* ev);
  static void on_retry(ngx_event_t* ev);
  void lost(const char* why);
  void schedule_retry();

  ngx_log_t* log_;
  RedisEndpoint ep_;
  const char* role_;
  redisAsyncContext* ac_ = nullptr;
  ngx_connection_t* conn_ = nullptr;
  bool up_ = false;
  bool locating_ = false;  // waiting for the locator's answer
  bool warned_role_ = false;
  RedisLocator* locator_ = nullptr;
  ngx_msec_t backoff_ = 100;
  ngx_event_t retry_{};
  std::function<void()> on_up_;
  std::function<void()> on_down_;
  std::function<void(const std::string&)> on_message_;
  std::deque<ngx_msec_t> pending_since_;  // FIFO of send times (replies come in order)
};

}  // namespace lingmo::ngx
