#include "redis_sync.h"

#include <atomic>

namespace lingmo::cli {

namespace {
// The sentinel that answered last is asked first next time (process-wide: the daemon's threads
// share it; a stale value only costs one failed attempt).
std::atomic<size_t> g_first_sentinel{0};
}  // namespace

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

Result<bool> RedisAddress::use_sentinels(const std::string& list, const std::string& master_name) {
  auto l = net::parse_host_ports(list, 26379);
  if (!l) return Result<bool>::fail("sentinels: " + l.error());
  if (master_name.empty()) return Result<bool>::fail("the sentinels need the master's name (REDIS_MASTER, --redis-master)");
  sentinels = std::move(l.value());
  master = master_name;
  return true;
}

std::string RedisAddress::describe() const {
  if (sentinels.empty()) return unix_path.empty() ? net::HostPort{host, port}.str() : "unix:" + unix_path;
  std::string s = "master " + master + " via sentinels ";
  for (size_t i = 0; i < sentinels.size(); ++i) s += (i ? "," : "") + sentinels[i].str();
  return s;
}

Result<std::unique_ptr<RedisSync>> RedisSync::open(const std::string& host, int port, const std::string& unix_path,
                                                   const timeval& timeout) {
  using R = Result<std::unique_ptr<RedisSync>>;
  redisContext* c = unix_path.empty() ? redisConnectWithTimeout(host.c_str(), port, timeout)
                                      : redisConnectUnixWithTimeout(unix_path.c_str(), timeout);
  if (!c || c->err) {
    std::string msg = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return R::fail(msg);
  }
  redisSetTimeout(c, timeout);
  return std::unique_ptr<RedisSync>(new RedisSync(c, unix_path.empty() ? net::HostPort{host, port}.str() : "unix:" + unix_path));
}

Result<net::HostPort> locate_master(const RedisAddress& addr) {
  using R = Result<net::HostPort>;
  const size_t n = addr.sentinels.size();
  if (n == 0) return R::fail("no sentinels configured");
  const timeval timeout{1, 0};
  size_t first = g_first_sentinel.load() % n;
  std::string errors;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (first + k) % n;
    const net::HostPort& s = addr.sentinels[i];
    auto why = [&](const std::string& e) { errors += (errors.empty() ? "" : "; ") + s.str() + ": " + e; };
    auto c = RedisSync::open(s.host, s.port, "", timeout);
    if (!c) {
      why(c.error());
      continue;
    }
    if (!addr.sentinel_password.empty())
      if (auto a = c.value()->run({"AUTH", addr.sentinel_password}); !a) {
        why("AUTH: " + a.error());
        continue;
      }
    auto r = c.value()->run({"SENTINEL", "get-master-addr-by-name", addr.master});
    if (!r) {
      why(r.error());
      continue;
    }
    std::vector<std::string> parts;
    const redisReply* rep = r.value().get();
    if (rep->type == REDIS_REPLY_ARRAY)
      for (size_t j = 0; j < rep->elements; ++j)
        if (rep->element[j]->type == REDIS_REPLY_STRING) parts.emplace_back(rep->element[j]->str, rep->element[j]->len);
    auto m = net::master_from_reply(parts, false);  // a host name is fine here: this process may resolve
    if (!m) {
      why(rep->type == REDIS_REPLY_NIL ? "does not know a master named \"" + addr.master + "\"" : "unexpected answer");
      continue;
    }
    g_first_sentinel.store(i);
    return *m;
  }
  return R::fail("no sentinel could name the master \"" + addr.master + "\" (" + errors + ")");
}

Result<std::unique_ptr<RedisSync>> RedisSync::connect(const RedisAddress& addr) {
  using R = Result<std::unique_ptr<RedisSync>>;
  const timeval timeout{5, 0};  // connect and every command: a dead Redis fails the call, never hangs it
  std::string host = addr.host, unix_path = addr.unix_path;
  int port = addr.port;
  if (!addr.sentinels.empty()) {
    auto m = locate_master(addr);
    if (!m) return R::fail("cannot find the Redis master: " + m.error());
    host = m.value().host;
    port = m.value().port;
    unix_path.clear();
  }
  auto opened = open(host, port, unix_path, timeout);
  if (!opened) return R::fail("cannot connect to Redis" + (addr.sentinels.empty() ? "" : " master at " + net::HostPort{host, port}.str()) +
                              ": " + opened.error());
  std::unique_ptr<RedisSync> r = std::move(opened.value());
  if (!addr.password.empty())
    if (auto rep = r->run({"AUTH", addr.password}); !rep) return R::fail("Redis AUTH failed: " + rep.error());
  if (addr.db != 0)
    if (auto rep = r->run({"SELECT", std::to_string(addr.db)}); !rep) return R::fail("Redis SELECT failed: " + rep.error());
  if (!addr.sentinels.empty()) {
    // A demoted master keeps accepting connections for a while: the sentinels may have named it
    // just before a switch. ROLE is in @admin; when an ACL refuses it, READONLY replies still
    // mark the connection broken later.
    auto role = r->run({"ROLE"});
    if (role && role.value()->type == REDIS_REPLY_ARRAY && role.value()->elements > 0 &&
        role.value()->element[0]->type == REDIS_REPLY_STRING) {
      std::string what(role.value()->element[0]->str, role.value()->element[0]->len);
      if (what != "master")
        return R::fail("Redis at " + r->server() + " is a " + what + ", not the master (a failover is under way?)");
    }
  }
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
  if (rep->type == REDIS_REPLY_ERROR) {
    std::string err(rep->str, rep->len);
    if (net::is_replica_error(err)) demoted_ = true;
    return Result<ReplyPtr>::fail(err);
  }
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
