// Redis for the daemon's HTTP worker threads: blocking connections (the daemon is not nginx; a
// thread may wait), kept in a small pool. A connection that failed is dropped, not reused, so a
// Redis restart costs one failed call per pooled connection at most; a call whose pooled
// connection turns out broken is tried once more on a fresh one (below).
//
// Redis Sentinel (REDIS_SENTINELS, docs/SCALING.md): every new connection asks the sentinels
// where the master is (redis_sync.h). A watcher thread also asks them every second; when they
// name another master, the idle connections are dropped and busy ones are not given back, so a
// failover reaches every call within about a second even while the old master still accepts
// connections (Sentinel demotes it only some seconds after the switch).
#pragma once
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis_sync.h"

namespace lingmo::cp {

class RedisPool {
 public:
  explicit RedisPool(cli::RedisAddress addr, size_t max_idle = 8);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  Result<cli::ReplyPtr> run(const std::vector<std::string>& argv);
  Result<std::map<std::string, std::string>> hgetall(const std::string& key);
  // A string reply (nil -> empty) or an error.
  Result<std::string> get_string(const std::vector<std::string>& argv);

 private:
  Result<std::unique_ptr<cli::RedisSync>> take(bool* pooled);
  void give_back(std::unique_ptr<cli::RedisSync> c);
  template <class T, class F>
  Result<T> with_connection(F&& f);
  void watch_master();

  cli::RedisAddress addr_;
  size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<cli::RedisSync>> idle_;
  std::string master_;  // Sentinel form: "host:port" the sentinels named last ("" = not known yet)
  bool stopping_ = false;
  std::condition_variable stop_cv_;
  std::thread watcher_;  // Sentinel form only
};

}  // namespace lingmo::cp
