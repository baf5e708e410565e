// Runs the usage ledger's Lua script against a real, throw-away redis-server: a batch replayed
// with the same id (its reply was lost) must be counted exactly once.
#include <catch2/catch.hpp>
#include <hiredis/hiredis.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/schema.h"
#include "usage/ledger.h"

using lingmo::usage::Counters;
using lingmo::usage::Ledger;
namespace schema = lingmo::schema;

namespace {

using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;
using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

std::optional<std::string> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// A port the kernel just handed out (and took back); good enough for a short-lived test server.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// redis-server in the foreground, without persistence; stopped by the destructor.
class RedisServer {
 public:
  explicit RedisServer(const std::string& binary) : port_(free_port()) {
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
      std::string port = std::to_string(port_);
      execl(binary.c_str(), "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~RedisServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Connects once the server answers PING (up to ~10 s); null if it never does.
  Context connect() const {
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;  // exited early (e.g. the port was taken)
      Context c(redisConnectWithTimeout("127.0.0.1", port_, timeval{1, 0}), redisFree);
      if (c && !c->err) {
        Reply pong(static_cast<redisReply*>(redisCommand(c.get(), "PING")), freeReplyObject);
        if (pong && pong->type == REDIS_REPLY_STATUS && std::string(pong->str) == "PONG") return c;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Context(nullptr, redisFree);
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

Reply command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply r(static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())),
          freeReplyObject);
  REQUIRE(r != nullptr);
  INFO("reply: " << (r->type == REDIS_REPLY_ERROR ? r->str : "ok"));
  REQUIRE(r->type != REDIS_REPLY_ERROR);
  return r;
}

long long eval_batch(redisContext* c, const lingmo::usage::Batch& b) {
  Reply r = command(c, Ledger::eval_args(b, schema::usage_batch_key(b.id), 172800));
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  return r->integer;
}

std::map<std::string, std::string> hgetall(redisContext* c, const std::string& key) {
  Reply r = command(c, {"HGETALL", key});
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    out[std::string(r->element[i]->str, r->element[i]->len)] = std::string(r->element[i + 1]->str, r->element[i + 1]->len);
  return out;
}

Counters request(int64_t prompt, int64_t completion, bool failed = false) {
  return Counters{1, prompt, completion, prompt + completion, failed ? 1 : 0};
}

using Fields = std::map<std::string, std::string>;

}  // namespace

TEST_CASE("the usage batch script applies a batch exactly once per batch id", "[redis][ledger]") {
  auto binary = find_in_path("redis-server");
  if (!binary) {
    WARN("redis-server not found in PATH: skipping the usage script test");
    return;
  }
  RedisServer server(*binary);
  Context redis = server.connect();
  REQUIRE(redis);

  const std::string p1 = schema::usage_key("p1", "2024-05-01"), p2 = schema::usage_key("p2", "2024-05-01");
  Ledger ledger;
  ledger.add(p1, request(10, 5));
  ledger.add(p1, request(20, 7));
  ledger.add(p2, request(3, 0, true));

  const auto* batch = ledger.take_batch("w1-1");
  REQUIRE(batch != nullptr);
  CHECK(eval_batch(redis.get(), *batch) == 1);
  CHECK(eval_batch(redis.get(), *ledger.take_batch("w1-2")) == 0);  // a retry reuses w1-1: not counted again

  const Fields p1_once = {{"requests", "2"}, {"prompt_tokens", "30"}, {"completion_tokens", "12"}, {"total_tokens", "42"}};
  CHECK(hgetall(redis.get(), p1) == p1_once);  // zero increments ("failures") are not written
  CHECK(hgetall(redis.get(), p2) == Fields{{"requests", "1"}, {"prompt_tokens", "3"}, {"total_tokens", "3"}, {"failures", "1"}});

  Reply ttl = command(redis.get(), {"TTL", schema::usage_batch_key("w1-1")});
  REQUIRE(ttl->type == REDIS_REPLY_INTEGER);
  CHECK(ttl->integer > 0);
  CHECK(ttl->integer <= 172800);

  ledger.ack();
  ledger.add(p1, request(10, 5));
  const auto* next = ledger.take_batch("w1-3");
  REQUIRE(next != nullptr);
  CHECK(eval_batch(redis.get(), *next) == 1);
  CHECK(hgetall(redis.get(), p1) ==
        Fields{{"requests", "3"}, {"prompt_tokens", "40"}, {"completion_tokens", "17"}, {"total_tokens", "57"}});
}
