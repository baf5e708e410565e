// A blocking Redis connection for the admin CLI and the control-plane daemon (never used inside
// nginx, whose workers must not block: they use ngx_module/redis_link).
//
// Redis Sentinel: when the address lists sentinels, connect() asks them in turn where the master
// named `master` is (SENTINEL get-master-addr-by-name, starting with the sentinel that answered
// last), connects there and checks with ROLE that the node is a master. A connection whose node
// answers READONLY / MASTERDOWN later (a failover demoted it) counts as broken, so a pool drops
// it and the next connect() asks the sentinels again (docs/SCALING.md).
#pragma once
#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/sentinel.h"
#include "util/result.h"

namespace lingmo::cli {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // set for "unix:/path"
  std::string password;
  int db = 0;
  // Sentinel form: host/port/unix_path are not used; the master is found through these.
  std::vector<net::HostPort> sentinels;
  std::string master;             // the name the sentinels monitor
  std::string sentinel_password;  // AUTH on the sentinels
  static Result<RedisAddress> parse(const std::string& spec);  // host:port | unix:/path
  // Switches to the Sentinel form: "host:port,host:port" (port 26379 when left out) and a name.
  Result<bool> use_sentinels(const std::string& list, const std::string& master_name);
  // For logs and messages: "127.0.0.1:6379", "unix:/run/redis.sock", or
  // "master mymaster via sentinels 10.0.0.1:26379,10.0.0.2:26379".
  std::string describe() const;
};

// Sentinel form: asks the sentinels in turn (1 s connect and answer timeout each) where the master
// is now. Fails naming every sentinel's error when none can say.
Result<net::HostPort> locate_master(const RedisAddress& addr);

using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

class RedisSync {
 public:
  static Result<std::unique_ptr<RedisSync>> connect(const RedisAddress& addr);
  ~RedisSync();
  // Runs one command; a Redis error reply becomes a failed Result.
  Result<ReplyPtr> run(const std::vector<std::string>& argv);
  Result<std::map<std::string, std::string>> hgetall(const std::string& key);
  // The connection failed (I/O error, closed), or its node answered as a replica (READONLY,
  // MASTERDOWN): it must not be used again.
  bool broken() const { return c_->err != 0 || demoted_; }
  // The node answered a command as a replica: that command was refused, never run.
  bool demoted() const { return demoted_; }
  // "host:port" (or "unix:/path") this connection reached.
  const std::string& server() const { return server_; }
  // A bare connection (no AUTH, no SELECT) with `timeout` for the connect and every command; the
  // error is hiredis's message.
  static Result<std::unique_ptr<RedisSync>> open(const std::string& host, int port, const std::string& unix_path,
                                                 const timeval& timeout);

 private:
  RedisSync(redisContext* c, std::string server) : c_(c), server_(std::move(server)) {}
  redisContext* c_;
  std::string server_;
  bool demoted_ = false;
};

}  // namespace lingmo::cli
