// The provider-standing rules: circuit breaker states and the penalties a classified error brings.
#include <catch2/catch.hpp>

#include "failover/circuit.h"
#include "failover/penalty.h"

using namespace lingmo;
using failover::Circuit;
using failover::CircuitPolicy;
using failover::Failure;

namespace {
constexpr int64_t kNow = 1'790'000'000'000;  // 2026-09-21
}

TEST_CASE("circuit opens after N consecutive failures and admits nothing until the cooldown", "[circuit]") {
  Circuit c(CircuitPolicy{3, 1000, 8000});
  CHECK(c.admit(kNow));
  c.on_failure(kNow);
  c.on_failure(kNow);
  CHECK_FALSE(c.open());
  c.on_success();  // a success in between resets the count
  c.on_failure(kNow);
  c.on_failure(kNow);
  CHECK_FALSE(c.open());
  c.on_failure(kNow);
  CHECK(c.open());
  CHECK(c.open_until_ms() == kNow + 1000);
  CHECK_FALSE(c.admit(kNow + 999));
}

TEST_CASE("half-open admits exactly one trial; its verdict closes or reopens for longer", "[circuit]") {
  Circuit c(CircuitPolicy{1, 1000, 3000});
  c.on_failure(kNow);
  REQUIRE(c.open());
  CHECK(c.admit(kNow + 1000));       // the trial
  CHECK_FALSE(c.admit(kNow + 1001));  // no second request while it runs
  c.on_failure(kNow + 1500);          // trial failed: open again, cooldown doubled
  CHECK_FALSE(c.admit(kNow + 1500 + 1999));
  CHECK(c.admit(kNow + 1500 + 2000));
  c.on_failure(kNow + 4000);  // doubled again but capped at 3000
  CHECK(c.open_until_ms() == kNow + 4000 + 3000);
  CHECK(c.admit(kNow + 7000));
  c.on_success();
  CHECK_FALSE(c.open());
  CHECK(c.admit(kNow + 7001));
  CHECK(c.admit(kNow + 7002));
  c.on_failure(kNow + 8000);  // cooldown back to the base after closing
  CHECK(c.open_until_ms() == kNow + 8000 + 1000);
}

TEST_CASE("an abandoned trial lets the next request try", "[circuit]") {
  Circuit c(CircuitPolicy{1, 1000, 3000});
  c.on_failure(kNow);
  CHECK(c.admit(kNow + 1000));
  CHECK_FALSE(c.admit(kNow + 1000));
  c.on_abandon();
  CHECK(c.admit(kNow + 1000));
}

TEST_CASE("penalties: quota parks until the signature's reset or an hour", "[penalty]") {
  failover::Classification cls;
  cls.message = "exhausted";
  auto st = failover::penalty(Failure::kQuotaExhausted, cls, "fp", kNow);
  REQUIRE(st);
  CHECK(st->kind == "quota");
  CHECK(st->unusable_until_ms == kNow + 3600'000);
  CHECK(st->fingerprint.empty());
  CHECK(st->reason == "exhausted");

  cls.reset = "daily@UTC";
  st = failover::penalty(Failure::kQuotaExhausted, cls, "fp", kNow);
  REQUIRE(st);
  CHECK(st->unusable_until_ms % 86'400'000 == 0);  // next UTC midnight
  CHECK(st->unusable_until_ms > kNow);
  CHECK(st->unusable_until_ms - kNow <= 86'400'000);
}

TEST_CASE("penalties: rate limits honour the hint within bounds; auth carries the fingerprint", "[penalty]") {
  failover::Classification cls;
  cls.retry_after_ms = 7000;
  CHECK(failover::penalty(Failure::kRateLimited, cls, "fp", kNow)->unusable_until_ms == kNow + 7000);
  cls.retry_after_ms = 10;  // at least a second
  CHECK(failover::penalty(Failure::kRateLimited, cls, "fp", kNow)->unusable_until_ms == kNow + 1000);
  cls.retry_after_ms = 86'400'000;  // never more than 10 minutes
  CHECK(failover::penalty(Failure::kRateLimited, cls, "fp", kNow)->unusable_until_ms == kNow + 600'000);
  cls.retry_after_ms = -1;  // no hint: 10 s
  CHECK(failover::penalty(Failure::kRateLimited, cls, "fp", kNow)->unusable_until_ms == kNow + 10'000);

  auto auth = failover::penalty(Failure::kAuth, cls, "fp123", kNow);
  REQUIRE(auth);
  CHECK(auth->kind == "auth");
  CHECK(auth->fingerprint == "fp123");

  for (Failure f : {Failure::kServer, Failure::kConnect, Failure::kFirstByteTimeout, Failure::kClientError, Failure::kNone})
    CHECK_FALSE(failover::penalty(f, cls, "fp", kNow));
}

TEST_CASE("rate-limit headers with nothing left cool the provider down until their reset", "[penalty]") {
  using H = std::map<std::string, std::string>;
  CHECK_FALSE(failover::from_rate_headers(H{{"x-ratelimit-remaining-requests", "3"}, {"x-ratelimit-reset-requests", "2s"}}, kNow));
  auto st = failover::from_rate_headers(H{{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "6m0s"},
                                          {"x-ratelimit-remaining-tokens", "0"}, {"x-ratelimit-reset-tokens", "1s"}}, kNow);
  REQUIRE(st);
  CHECK(st->kind == "rate_limited");
  CHECK(st->unusable_until_ms == kNow + 360'000);  // the later of the two resets
  auto an = failover::from_rate_headers(H{{"anthropic-ratelimit-requests-remaining", "0"},
                                          {"anthropic-ratelimit-requests-reset", "2026-09-21T14:13:35Z"}}, 1'790'000'000'000);
  REQUIRE(an);
  CHECK(an->unusable_until_ms == 1'790'000'015'000);
  CHECK_FALSE(failover::from_rate_headers(H{{"x-ratelimit-remaining-requests", "0"}}, kNow));  // no reset given
}

TEST_CASE("next_reset_ms understands daily@zone and nothing else", "[penalty]") {
  auto la = failover::next_reset_ms("daily@America/Los_Angeles", kNow);
  REQUIRE(la);
  CHECK((*la / 1000) % 3600 == 0);
  CHECK(*la > kNow);
  CHECK_FALSE(failover::next_reset_ms("daily@Mars/Base", kNow));
  CHECK_FALSE(failover::next_reset_ms("weekly@UTC", kNow));
}

TEST_CASE("penalties: without a reset in the error, the provider's own quota reset is used", "[penalty]") {
  failover::Classification cls;
  failover::PenaltyPolicy policy;
  policy.quota_reset_ms = kNow + 5 * 3600'000;
  CHECK(failover::penalty(Failure::kQuotaExhausted, cls, "fp", kNow, policy)->unusable_until_ms == kNow + 5 * 3600'000);
  cls.reset = "daily@UTC";  // the vendor's own word wins
  CHECK(failover::penalty(Failure::kQuotaExhausted, cls, "fp", kNow, policy)->unusable_until_ms % 86'400'000 == 0);
  policy.quota_reset_ms = kNow - 1;  // a reset in the past is ignored
  cls.reset.clear();
  CHECK(failover::penalty(Failure::kQuotaExhausted, cls, "fp", kNow, policy)->unusable_until_ms == kNow + 3600'000);
}
