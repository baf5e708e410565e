// Redis for the daemon's HTTP worker threads: blocking connections (the daemon is not nginx; a
// thread may wait), kept in a small pool. A connection that failed is dropped, not reused, so a
// Redis restart costs one failed call per pooled connection at most.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis_sync.h"

namespace lingmo::cp {

class RedisPool {
 public:
  explicit RedisPool(cli::RedisAddress addr, size_t max_idle = 8) : addr_(std::move(addr)), max_idle_(max_idle) {}

  Result<cli::ReplyPtr> run(const std::vector<std::string>& argv);
  Result<std::map<std::string, std::string>> hgetall(const std::string& key);
  // A string reply (nil -> empty) or an error.
  Result<std::string> get_string(const std::vector<std::string>& argv);

 private:
  Result<std::unique_ptr<cli::RedisSync>> take();
  void give_back(std::unique_ptr<cli::RedisSync> c);

  cli::RedisAddress addr_;
  size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<cli::RedisSync>> idle_;
};

}  // namespace lingmo::cp
