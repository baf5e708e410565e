// SentinelWatch: where the Redis master is, for a worker configured with `lingmo_redis
// sentinel=... master=...` (docs/DIRECTIVES.md, docs/SCALING.md). Never blocks: the sentinels are
// asked over RedisLink connections on nginx's event loop.
//
//  - locate(): a link about to (re)connect waits for the answer of `SENTINEL
//    get-master-addr-by-name <master>`, asked of one sentinel at a time. A sentinel that refuses
//    the connection, does not answer within a second or does not know the master is passed over
//    for the next one in the configured order (wrapping around; the link's backoff spaces the
//    attempts).
//  - a second connection, to a sentinel too, subscribes to +switch-master: the followed links
//    still connected to the old master are dropped at once and reconnect through locate().
//  - every second the master is asked for again, which also covers a missed message and a
//    sentinel that went silent: followed links connected anywhere else are dropped.
// The links themselves check with ROLE that they reached a master, and drop a node that answers
// READONLY later (redis_link.cpp).
#pragma once
#include <string>
#include <vector>

#include "redis_link.h"

namespace lingmo::ngx {

class SentinelWatch final : public RedisLocator {
 public:
  // `sentinels`: IP literals (resolved at config time), each with the sentinel password if any.
  SentinelWatch(ngx_log_t* log, std::vector<RedisEndpoint> sentinels, std::string master);
  ~SentinelWatch();
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

  void start();
  // `link` (which has this as its locator) is moved when the master changes.
  void follow(RedisLink* link);
  void locate(RedisLink* link) override;
  void forget(RedisLink* link) override;

 private:
  static void on_timer(ngx_event_t* ev);
  void ask();
  void answered(redisReply* r);
  void moved(const std::string& host, int port, const char* why);
  void rotate(RedisLink& link, size_t& at);

  ngx_log_t* log_;
  std::vector<RedisEndpoint> sentinels_;
  std::string master_;
  std::vector<RedisLink*> waiting_;    // links waiting for an address
  std::vector<RedisLink*> following_;  // links to move when the master changes
  size_t query_at_ = 0;                // index of the sentinel query_ talks to
  size_t events_at_ = 0;               // ... and events_
  bool asking_ = false;                // a query is on the wire
  bool recheck_ = false;               // ask even if no link is waiting
  bool dying_ = false;                 // destructor running: callbacks must do nothing
  unsigned ticks_ = 0;
  ngx_msec_t complained_at_ = 0;       // last time a useless answer was logged
  std::string known_;                  // "host:port" of the master last named (logged on change)
  ngx_event_t timer_{};
  // Declared last so they are destroyed first (their callbacks check dying_).
  RedisLink query_;
  RedisLink events_;
};

}  // namespace lingmo::ngx
