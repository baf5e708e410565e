#include "redis_pool.h"

namespace lingmo::cp {

Result<std::unique_ptr<cli::RedisSync>> RedisPool::take() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return cli::RedisSync::connect(addr_);
}

void RedisPool::give_back(std::unique_ptr<cli::RedisSync> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

Result<cli::ReplyPtr> RedisPool::run(const std::vector<std::string>& argv) {
  auto c = take();
  if (!c) return Result<cli::ReplyPtr>::fail(c.error());
  auto r = c.value()->run(argv);
  // A Redis error reply (WRONGTYPE, NOSCRIPT...) leaves the connection usable; an I/O error does not.
  if (r || !c.value()->broken()) give_back(std::move(c.value()));
  return r;
}

Result<std::map<std::string, std::string>> RedisPool::hgetall(const std::string& key) {
  auto c = take();
  if (!c) return Result<std::map<std::string, std::string>>::fail(c.error());
  auto r = c.value()->hgetall(key);
  if (r || !c.value()->broken()) give_back(std::move(c.value()));
  return r;
}

Result<std::string> RedisPool::get_string(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (!r) return Result<std::string>::fail(r.error());
  const redisReply* rep = r.value().get();
  if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS) return std::string(rep->str, rep->len);
  if (rep->type == REDIS_REPLY_INTEGER) return std::to_string(rep->integer);
  return std::string();
}

}  // namespace lingmo::cp
