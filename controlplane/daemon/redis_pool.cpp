#include "redis_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace lingmo::cp {

RedisPool::RedisPool(cli::RedisAddress addr, size_t max_idle) : addr_(std::move(addr)), max_idle_(max_idle) {
  if (!addr_.sentinels.empty()) watcher_ = std::thread([this] { watch_master(); });
}

RedisPool::~RedisPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void RedisPool::watch_master() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Result<net::HostPort> m = Result<net::HostPort>::fail("");
    try {
      m = cli::locate_master(addr_);  // blocking, outside the lock: calls go on meanwhile
    } catch (const std::exception& e) {  // (bad_alloc) never ends the thread, nor the daemon
      spdlog::error("Redis master watch: {}", e.what());
    }
    lock.lock();
    if (m) {
      std::string at = m.value().str();
      if (at != master_) {
        if (!master_.empty()) spdlog::warn("Redis master {} moved from {} to {}: reconnecting", addr_.master, master_, at);
        master_ = at;
        idle_.erase(std::remove_if(idle_.begin(), idle_.end(), [&](const auto& c) { return c->server() != at; }), idle_.end());
      }
    }
    stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

Result<std::unique_ptr<cli::RedisSync>> RedisPool::take(bool* pooled) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      *pooled = true;
      return c;
    }
  }
  *pooled = false;
  return cli::RedisSync::connect(addr_);
}

void RedisPool::give_back(std::unique_ptr<cli::RedisSync> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!master_.empty() && c->server() != master_) return;  // the sentinels have named another master since
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

// Runs `f` on a connection. A Redis error reply (WRONGTYPE, NOSCRIPT...) leaves the connection
// usable; an I/O error or a replica's answer (READONLY) does not, and then the call is tried once
// more on a fresh connection when the broken one came from the pool (it may have been cut while
// idle: Redis restarted, or a failover) or was refused as a replica (the command did not run).
// A fresh connection that fails is not retried: Redis is really away.
template <class T, class F>
Result<T> RedisPool::with_connection(F&& f) {
  for (int attempt = 0;; ++attempt) {
    bool pooled = false;
    auto c = take(&pooled);
    if (!c) return Result<T>::fail(c.error());
    auto r = f(*c.value());
    if (r || !c.value()->broken()) {
      give_back(std::move(c.value()));
      return r;
    }
    if (attempt > 0 || !(pooled || c.value()->demoted())) return r;
  }
}

Result<cli::ReplyPtr> RedisPool::run(const std::vector<std::string>& argv) {
  return with_connection<cli::ReplyPtr>([&](cli::RedisSync& c) { return c.run(argv); });
}

Result<std::map<std::string, std::string>> RedisPool::hgetall(const std::string& key) {
  return with_connection<std::map<std::string, std::string>>([&](cli::RedisSync& c) { return c.hgetall(key); });
}

Result<std::string> RedisPool::get_string(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (!r) return Result<std::string>::fail(r.error());
  const redisReply* rep = r.value().get();
  if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS) return std::string(rep->str, rep->len);
  if (rep->type == REDIS_REPLY_INTEGER) return std::string(std::to_string(rep->integer));
  return std::string();
}

}  // namespace lingmo::cp
