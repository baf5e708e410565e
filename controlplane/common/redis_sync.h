// A blocking Redis connection for the admin CLI and the control-plane daemon (never used inside
// nginx, whose workers must not block: they use ngx_module/redis_link).
#pragma once
#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace lingmo::cli {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // set for "unix:/path"
  std::string password;
  int db = 0;
  static Result<RedisAddress> parse(const std::string& spec);  // host:port | unix:/path
};

using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

class RedisSync {
 public:
  static Result<std::unique_ptr<RedisSync>> connect(const RedisAddress& addr);
  ~RedisSync();
  // Runs one command; a Redis error reply becomes a failed Result.
  Result<ReplyPtr> run(const std::vector<std::string>& argv);
  Result<std::map<std::string, std::string>> hgetall(const std::string& key);
  // The connection failed (I/O error, closed): it must not be used again.
  bool broken() const { return c_->err != 0; }

 private:
  explicit RedisSync(redisContext* c) : c_(c) {}
  redisContext* c_;
};

}  // namespace lingmo::cli
