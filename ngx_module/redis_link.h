// RedisLink: one hiredis async connection registered with nginx's event loop (ARCHITECTURE
// decision 1: the worker never blocks). Connects to an IP or a unix socket only (names are
// resolved at config time), authenticates and selects the db, reconnects with backoff, and can be
// reset when Redis stops answering (a paused Redis must not stall anything).
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
};

class RedisLink {
 public:
  // `reply` is null when the connection went away before the answer.
  using Callback = std::function<void(redisReply* reply)>;

  RedisLink(ngx_log_t* log, RedisEndpoint ep, const char* role);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  void start();  // connect now; keeps reconnecting until destroyed
  bool connected() const { return ac_ != nullptr && up_; }
  // Queues a command (pipelined with any others). False when not connected.
  bool command(const std::vector<std::string>& argv, Callback cb);
  // Subscribes; `on_message` runs for every message (and on_up_ after each reconnect).
  void set_on_up(std::function<void()> f) { on_up_ = std::move(f); }
  bool subscribe(const std::string& channel, std::function<void(const std::string&)> on_message);
  // Milliseconds the oldest unanswered command has waited (0 if none).
  ngx_msec_t oldest_pending_ms() const;
  // Drops the connection (e.g. Redis stopped answering); pending callbacks get null replies.
  void reset(const char* why);

 private:
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
  ngx_msec_t backoff_ = 100;
  ngx_event_t retry_{};
  std::function<void()> on_up_;
  std::function<void(const std::string&)> on_message_;
  std::deque<ngx_msec_t> pending_since_;  // FIFO of send times (replies come in order)
};

}  // namespace lingmo::ngx
