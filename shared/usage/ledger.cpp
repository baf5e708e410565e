#include "usage/ledger.h"

#include <algorithm>
#include <ctime>

namespace lingmo::usage {

const char* const kApplyBatchScript =
    "if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  local fields = {'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'failures', 'cost_micros'}\n"
    "  local nkeys = #KEYS - 1\n"
    "  for k = 2, #KEYS do\n"
    "    for f = 1, 6 do\n"
    "      local n = tonumber(ARGV[1 + (k - 2) * 6 + f])\n"
    "      if n ~= 0 then redis.call('HINCRBY', KEYS[k], fields[f], n) end\n"
    "    end\n"
    "    local ttl = tonumber(ARGV[1 + nkeys * 6 + (k - 1)] or '0')\n"
    "    if ttl > 0 and redis.call('TTL', KEYS[k]) < 0 then redis.call('EXPIRE', KEYS[k], ttl) end\n"
    "  end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

void Counters::add(const Counters& o) {
  requests += o.requests;
  prompt_tokens += o.prompt_tokens;
  completion_tokens += o.completion_tokens;
  total_tokens += o.total_tokens;
  failures += o.failures;
  cost_micros += o.cost_micros;
}

bool Ledger::add(const std::string& usage_key, const Counters& c, int64_t ttl_s) {
  auto it = pending_.find(usage_key);
  if (it == pending_.end()) {
    if (pending_.size() >= max_keys_) {
      ++dropped_;
      return false;
    }
    it = pending_.emplace(usage_key, Counters{}).first;
  }
  it->second.add(c);
  if (ttl_s > 0) ttl_[usage_key] = std::max(ttl_[usage_key], ttl_s);
  return true;
}

const Batch* Ledger::take_batch(const std::string& new_batch_id) {
  if (batch_) return &*batch_;
  if (pending_.empty()) return nullptr;
  Batch b;
  b.id = new_batch_id;
  b.entries.assign(pending_.begin(), pending_.end());
  for (const auto& e : b.entries)
    if (auto it = ttl_.find(e.first); it != ttl_.end()) b.ttl_s[e.first] = it->second;
  pending_.clear();
  ttl_.clear();
  batch_ = std::move(b);
  return &*batch_;
}

void Ledger::ack(int64_t now_ms) {
  if (!batch_) return;
  if (retain_ms_ > 0) {
    acked_entries_ += batch_->entries.size();
    acked_.emplace_back(now_ms, std::move(*batch_));
  }
  batch_.reset();
  prune(now_ms);
}

void Ledger::retain(int64_t window_ms, size_t max_entries) {
  retain_ms_ = window_ms > 0 ? window_ms : 0;
  retain_entries_ = max_entries;
  if (retain_ms_ == 0) {
    acked_.clear();
    acked_entries_ = 0;
  }
}

void Ledger::prune(int64_t now_ms) {
  while (!acked_.empty() && (acked_.front().first < now_ms - retain_ms_ || acked_entries_ > retain_entries_)) {
    acked_entries_ -= acked_.front().second.entries.size();
    acked_.pop_front();
  }
}

std::vector<Batch> Ledger::recent(int64_t now_ms) {
  prune(now_ms);
  std::vector<Batch> out;
  out.reserve(acked_.size());
  for (const auto& e : acked_) out.push_back(e.second);
  return out;
}

std::vector<std::string> Ledger::eval_args(const Batch& b, const std::string& marker_key, int marker_ttl_s) {
  std::vector<std::string> a{"EVAL", kApplyBatchScript, std::to_string(b.entries.size() + 1), marker_key};
  for (const auto& e : b.entries) a.push_back(e.first);
  a.push_back(std::to_string(marker_ttl_s));
  for (const auto& e : b.entries) {
    const Counters& c = e.second;
    for (int64_t v : {c.requests, c.prompt_tokens, c.completion_tokens, c.total_tokens, c.failures, c.cost_micros})
      a.push_back(std::to_string(v));
  }
  for (const auto& e : b.entries) {  // then one expiry per key (0 = none), set only on keys without one
    auto it = b.ttl_s.find(e.first);
    a.push_back(std::to_string(it == b.ttl_s.end() ? 0 : it->second));
  }
  return a;
}

namespace {
std::string utc_format(int64_t epoch_ms, const char* format) {
  time_t t = static_cast<time_t>(epoch_ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[24];
  strftime(buf, sizeof buf, format, &tm);
  return buf;
}
}  // namespace

std::string utc_day(int64_t epoch_ms) { return utc_format(epoch_ms, "%Y-%m-%d"); }
std::string utc_hour(int64_t epoch_ms) { return utc_format(epoch_ms, "%Y-%m-%dT%H"); }

}  // namespace lingmo::usage
