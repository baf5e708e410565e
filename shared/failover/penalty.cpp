#include "failover/penalty.h"

#include <algorithm>
#include <memory>

#include "quota/tz.h"
#include "util/duration.h"

namespace lingmo::failover {

namespace {

config::ProviderState make(int64_t until, std::string kind, std::string reason, std::string fingerprint = {}) {
  config::ProviderState s;
  s.unusable_until_ms = until;
  s.kind = std::move(kind);
  s.reason = std::move(reason);
  s.fingerprint = std::move(fingerprint);
  return s;
}

}  // namespace

std::optional<int64_t> next_reset_ms(const std::string& rule, int64_t now_ms) {
  constexpr std::string_view kDaily = "daily@";
  if (rule.compare(0, kDaily.size(), kDaily) != 0) return std::nullopt;
  auto z = quota::TimeZone::cached(rule.substr(kDaily.size()));
  if (!z) return std::nullopt;
  return z.value()->next_day_start(now_ms / 1000) * 1000;
}

std::optional<config::ProviderState> penalty(Failure f, const Classification& c, const std::string& fingerprint,
                                             int64_t now_ms, const PenaltyPolicy& p) {
  std::string why = c.message.empty() ? c.note : c.message;
  switch (f) {
    case Failure::kQuotaExhausted: {
      int64_t until = p.quota_reset_ms > now_ms ? p.quota_reset_ms : now_ms + p.quota_park_ms;
      if (!c.reset.empty())
        if (auto r = next_reset_ms(c.reset, now_ms)) until = *r;
      return make(until, "quota", why);
    }
    case Failure::kRateLimited: {
      int64_t wait = c.retry_after_ms >= 0 ? c.retry_after_ms : p.rate_cooldown_ms;
      wait = std::clamp<int64_t>(wait, 1000, p.rate_cooldown_max_ms);
      return make(now_ms + wait, "rate_limited", why);
    }
    case Failure::kAuth:
      return make(now_ms + p.auth_park_ms, "auth", why, fingerprint);
    default:
      return std::nullopt;
  }
}

std::optional<config::ProviderState> from_rate_headers(const std::map<std::string, std::string>& h, int64_t now_ms,
                                                       const PenaltyPolicy& p) {
  auto zero = [&](const char* k) {
    auto it = h.find(k);
    return it != h.end() && it->second == "0";
  };
  int64_t wait = -1;
  for (const char* what : {"requests", "tokens"}) {
    std::string rem = std::string("x-ratelimit-remaining-") + what;
    if (zero(rem.c_str()))
      if (auto it = h.find(std::string("x-ratelimit-reset-") + what); it != h.end())
        if (auto ms = duration::parse_go(it->second)) wait = std::max(wait, *ms);
    std::string arem = std::string("anthropic-ratelimit-") + what + "-remaining";
    if (zero(arem.c_str()))
      if (auto it = h.find(std::string("anthropic-ratelimit-") + what + "-reset"); it != h.end())
        if (auto at = duration::parse_rfc3339(it->second)) wait = std::max(wait, *at - now_ms);
  }
  if (wait <= 0) return std::nullopt;
  wait = std::min(wait, p.rate_cooldown_max_ms);
  return make(now_ms + wait, "rate_limited", "the vendor's rate-limit headers say nothing is left until the reset");
}

}  // namespace lingmo::failover
