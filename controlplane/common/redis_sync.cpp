#include "redis_sync.h"

namespace lingmo::cli {

Result<RedisAddress> RedisAddress::parse(const std::string& spec) {
  RedisAddress a;
  if (spec.rfind("unix:", 0) == 0) {
    a.unix_path = spec.substr(5);
    return a;
  }
  auto colon = spec.rfind(':');
  a.host = colon == std::string::npos ? spec : spec.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      a.port = std::stoi(spec.substr(colon + 1));
    } catch (...) {
      return Result<RedisAddress>::fail("bad Redis port in \"" + spec + "\"");
    }
  }
  return a;
}

Result<std::unique_ptr<RedisSync>> RedisSync::connect(const RedisAddress& addr) {
  using R = Result<std::unique_ptr<RedisSync>>;
  const timeval timeout{5, 0};  // connect and every command: a dead Redis fails the call, never hangs it
  redisContext* c = addr.unix_path.empty() ? redisConnectWithTimeout(addr.host.c_str(), addr.port, timeout)
                                           : redisConnectUnixWithTimeout(addr.unix_path.c_str(), timeout);
  if (!c || c->err) {
    std::string msg = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return R::fail("cannot connect to Redis: " + msg);
  }
  redisSetTimeout(c, timeout);
  std::unique_ptr<RedisSync> r(new RedisSync(c));
  if (!addr.password.empty())
    if (auto rep = r->run({"AUTH", addr.password}); !rep) return R::fail("Redis AUTH failed: " + rep.error());
  if (addr.db != 0)
    if (auto rep = r->run({"SELECT", std::to_string(addr.db)}); !rep) return R::fail("Redis SELECT failed: " + rep.error());
  return r;
}

RedisSync::~RedisSync() { redisFree(c_); }

Result<ReplyPtr> RedisSync::run(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* rep = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(args.size()), args.data(), lens.data()));
  if (!rep) return Result<ReplyPtr>::fail(std::string("Redis I/O error: ") + c_->errstr);
  ReplyPtr p(rep, freeReplyObject);
  if (rep->type == REDIS_REPLY_ERROR) return Result<ReplyPtr>::fail(std::string(rep->str, rep->len));
  return p;
}

Result<std::map<std::string, std::string>> RedisSync::hgetall(const std::string& key) {
  auto rep = run({"HGETALL", key});
  if (!rep) return Result<std::map<std::string, std::string>>::fail(rep.error());
  std::map<std::string, std::string> out;
  redisReply* r = rep.value().get();
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    out.emplace(std::string(r->element[i]->str, r->element[i]->len), std::string(r->element[i + 1]->str, r->element[i + 1]->len));
  return out;
}

}  // namespace lingmo::cli
