// A blocking Redis connection for command-line tools (never used inside nginx).
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

 private:
  explicit RedisSync(redisContext* c) : c_(c) {}
  redisContext* c_;
};

}  // namespace lingmo::cli
