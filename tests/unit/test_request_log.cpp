// The request log record (usage/request_log.h): JSON round trip, the routing explanation, and the
// listing filters.
#include <catch2/catch.hpp>

#include "usage/request_log.h"

using namespace lingmo;
using failover::Failure;

namespace {

usage::RequestRecord sample() {
  usage::RequestRecord r;
  r.ts_ms = 1772964000123;
  r.id = "req_1";
  r.key_id = "abcdef01";
  r.key_name = "laptop \"dev\"";
  r.api = "messages";
  r.model = "claude-x";
  r.stream = true;
  r.status = 200;
  r.provider = "p2";
  r.upstream_model = "glm-4";
  r.latency_ms = 812;
  r.ttfb_ms = 90;
  r.usage.prompt_tokens = 10;
  r.usage.completion_tokens = 5;
  r.usage.total_tokens = 15;
  r.usage.cost_micros = 42;
  r.attempts = {{"p1", "m1", Failure::kQuotaExhausted, 429, "insufficient_quota"}, {"p2", "glm-4", Failure::kNone, 200, ""}};
  r.skipped = {{"p0", "parked until 12:00: quota", "parked:quota", 0}};
  r.client_ip = "10.0.0.1";
  r.user_agent = "claude-cli/2.1";
  return r;
}

}  // namespace

TEST_CASE("request records survive a JSON round trip", "[request_log]") {
  auto r = sample();
  auto back = usage::record_from_json(usage::to_json(r));
  REQUIRE(back);
  const auto& b = back.value();
  CHECK(b.ts_ms == r.ts_ms);
  CHECK(b.key_name == r.key_name);
  CHECK(b.api == "messages");
  CHECK(b.stream);
  CHECK(b.ttfb_ms == 90);
  CHECK(b.usage.total_tokens == 15);
  CHECK(b.usage.cost_micros == 42);
  REQUIRE(b.attempts.size() == 2);
  CHECK(b.attempts[0].failure == Failure::kQuotaExhausted);
  CHECK(b.attempts[0].status == 429);
  CHECK(b.attempts[1].failure == Failure::kNone);
  REQUIRE(b.skipped.size() == 1);
  CHECK(b.skipped[0].code == "parked:quota");
  CHECK(b.user_agent == "claude-cli/2.1");
  CHECK_FALSE(usage::record_from_json("[1]"));
  CHECK_FALSE(usage::record_from_json("{"));
  r.user_agent = std::string(500, 'a');
  CHECK(usage::record_from_json(usage::to_json(r)).value().user_agent.size() == 200);
}

TEST_CASE("the explanation names who served, who failed first, and who was passed over", "[request_log]") {
  auto r = sample();
  CHECK(usage::explain(r) ==
        "served by p2 (glm-4) after p1 (m1): HTTP 429 quota_exhausted - insufficient_quota; passed over p0 (parked until 12:00: quota)");
  r.provider.clear();
  r.attempts.pop_back();
  r.skipped.clear();
  r.status = 429;
  CHECK(usage::explain(r) == "no provider answered: p1 (m1): HTTP 429 quota_exhausted - insufficient_quota");
  r.attempts.clear();
  r.status = 404;
  r.error = "The model `x` does not exist";
  CHECK(usage::explain(r) == "not routed: The model `x` does not exist");
}

TEST_CASE("log filters", "[request_log]") {
  auto r = sample();
  usage::LogFilter f;
  CHECK(f.matches(r));
  f.provider = "p1";  // attempted, not served
  CHECK(f.matches(r));
  f.provider = "p0";  // only passed over
  CHECK_FALSE(f.matches(r));
  f = {};
  f.since_ms = r.ts_ms;
  CHECK(f.matches(r));
  f.until_ms = r.ts_ms;  // exclusive
  CHECK_FALSE(f.matches(r));
  f = {};
  for (auto [status, want] : std::vector<std::pair<std::string, bool>>{
           {"ok", true}, {"error", false}, {"2xx", true}, {"4xx", false}, {"200", true}, {"201", false}}) {
    f.status = status;
    CHECK(f.matches(r) == want);
  }
  f = {};
  f.key_id = "other";
  CHECK_FALSE(f.matches(r));
  CHECK(usage::valid_status_filter(""));
  CHECK(usage::valid_status_filter("5xx"));
  CHECK(usage::valid_status_filter("429"));
  for (const char* bad : {"6xx", "abc", "42", "4x", "2000", "0xx"}) CHECK_FALSE(usage::valid_status_filter(bad));
}
