#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "failover/outcome.h"

using lingmo::failover::AttemptRecord;
using lingmo::failover::Failure;
using lingmo::routing::Skip;
namespace failover = lingmo::failover;

namespace {

const std::vector<Failure> kAllFailures = {
    Failure::kNone,        Failure::kConnect, Failure::kFirstByteTimeout, Failure::kIdleTimeout,
    Failure::kRateLimited, Failure::kQuotaExhausted, Failure::kAuth, Failure::kServer,
    Failure::kMalformed,   Failure::kInterrupted, Failure::kClientError,
};

AttemptRecord attempt(std::string provider, Failure f, long status = 0, std::string detail = {}) {
  return AttemptRecord{provider, provider + "-model", f, status, std::move(detail)};
}

}  // namespace

TEST_CASE("classify_http maps vendor statuses and error bodies to failures", "[outcome]") {
  auto [status, body, expected] = GENERATE(table<long, std::string, Failure>({
      {402, "", Failure::kQuotaExhausted},
      {401, R"({"error":{"type":"invalid_request_error","code":"invalid_api_key"}})", Failure::kAuth},
      {403, "", Failure::kAuth},
      {429, R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":null}})",
       Failure::kQuotaExhausted},
      {429, R"({"error":{"message":"quota","type":"requests","code":"insufficient_quota"}})", Failure::kQuotaExhausted},
      {429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})",
       Failure::kRateLimited},
      {429, "", Failure::kRateLimited},
      {429, "Too Many Requests", Failure::kRateLimited},
      {429, R"({"error":"insufficient_quota"})", Failure::kQuotaExhausted},  // quota wording in the message
      {500, "", Failure::kServer},
      {502, "<html>Bad Gateway</html>", Failure::kServer},
      {503, "", Failure::kServer},
      {404, R"({"error":{"message":"model not found"}})", Failure::kServer},
      {408, "", Failure::kServer},
      {400, R"({"error":{"message":"bad request"}})", Failure::kClientError},
      {413, "", Failure::kClientError},
      {422, "", Failure::kClientError},
      {301, "", Failure::kMalformed},
      {100, "", Failure::kMalformed},
  }));
  CAPTURE(status, body);
  CHECK(failover::classify_http(status, body) == expected);
}

TEST_CASE("should_failover is false only for success and client errors", "[outcome]") {
  for (Failure f : kAllFailures) {
    CAPTURE(failover::failure_name(f));
    CHECK(failover::should_failover(f) == (f != Failure::kNone && f != Failure::kClientError));
  }
}

TEST_CASE("failure_name gives every failure its own name", "[outcome]") {
  std::set<std::string> names;
  for (Failure f : kAllFailures) names.insert(failover::failure_name(f));
  CHECK(names.size() == kAllFailures.size());
  CHECK(names.count("unknown") == 0);
  CHECK(std::string(failover::failure_name(Failure::kNone)) == "ok");
  CHECK(std::string(failover::failure_name(Failure::kQuotaExhausted)) == "quota_exhausted");
}

TEST_CASE("describe renders one attempt", "[outcome]") {
  CHECK(failover::describe(attempt("p1", Failure::kQuotaExhausted, 429, "quota")) ==
        "p1 (p1-model): HTTP 429 quota_exhausted - quota");
  CHECK(failover::describe(attempt("p2", Failure::kConnect)) == "p2 (p2-model): connect");
}

TEST_CASE("final_error picks the status from the kinds of failure", "[outcome]") {
  struct Case {
    std::vector<Failure> failures;
    int status;
    std::string type, code;
  };
  auto c = GENERATE(values<Case>({
      {{Failure::kQuotaExhausted, Failure::kQuotaExhausted}, 429, "insufficient_quota", "insufficient_quota"},
      {{Failure::kRateLimited, Failure::kQuotaExhausted}, 429, "rate_limit_error", "rate_limit_exceeded"},
      {{Failure::kRateLimited}, 429, "rate_limit_error", "rate_limit_exceeded"},
      {{Failure::kFirstByteTimeout, Failure::kIdleTimeout}, 504, "timeout_error", "upstream_timeout"},
      {{Failure::kConnect, Failure::kServer}, 502, "upstream_error", "all_providers_failed"},
      {{Failure::kFirstByteTimeout, Failure::kRateLimited}, 502, "upstream_error", "all_providers_failed"},
      {{Failure::kQuotaExhausted, Failure::kAuth}, 502, "upstream_error", "all_providers_failed"},
  }));
  std::vector<AttemptRecord> tried;
  for (Failure f : c.failures) tried.push_back(attempt("p" + std::to_string(tried.size() + 1), f));
  CAPTURE(c.status, c.code);

  auto e = failover::final_error("gpt-4o", tried, {}, false);
  CHECK(e.status == c.status);
  CHECK(e.type == c.type);
  CHECK(e.code == c.code);
  for (const auto& a : tried) CHECK_THAT(e.message, Catch::Contains(failover::describe(a)));
}

TEST_CASE("final_error: every provider overloaded (503/529) is a 503, not a generic 502", "[outcome]") {
  std::vector<AttemptRecord> tried{attempt("p1", Failure::kServer), attempt("p2", Failure::kServer)};
  tried[0].status = 503;
  tried[1].status = 529;
  auto e = failover::final_error("gpt-4o", tried, {}, false);
  CHECK(e.status == 503);
  CHECK(e.code == "overloaded");
  tried[1].status = 500;  // one plain server error: no longer "overloaded"
  CHECK(failover::final_error("gpt-4o", tried, {}, false).status == 502);
}

TEST_CASE("final_error message lists every provider tried and skipped", "[outcome]") {
  std::vector<AttemptRecord> tried = {attempt("p1", Failure::kRateLimited, 429),
                                      attempt("p2", Failure::kConnect, 0, "connection refused")};
  std::vector<Skip> skipped = {{"p3", "disabled", "disabled"}, {"p4", "parked (quota) for 9 s", "parked:quota"}};

  auto e = failover::final_error("gpt-4o", tried, skipped, false);
  CHECK(e.message ==
        "All providers failed for model \"gpt-4o\". Tried: p1 (p1-model): HTTP 429 rate_limited; "
        "p2 (p2-model): connect - connection refused. Skipped: p3 (disabled); p4 (parked (quota) for 9 s).");
  CHECK_THAT(failover::final_error("gpt-4o", tried, {}, true).message,
             Catch::EndsWith("connection refused. (maximum number of attempts reached)"));
}

TEST_CASE("final_error with no attempts is a 503 naming the skipped providers", "[outcome]") {
  auto e = failover::final_error("gpt-4o", {}, {{"p1", "disabled", "disabled"}, {"p2", "no secret key configured", "key_error"}}, false);
  CHECK(e.status == 503);
  CHECK(e.type == "service_unavailable");
  CHECK(e.code == "no_usable_provider");
  CHECK(e.message == "No usable provider for model \"gpt-4o\". Skipped: p1 (disabled); p2 (no secret key configured).");

  CHECK(failover::final_error("auto", {}, {}, false).message == "No usable provider for model \"auto\".");
}

TEST_CASE("attempts_header is a compact trail", "[outcome]") {
  std::vector<AttemptRecord> tried = {attempt("p1", Failure::kRateLimited, 429), attempt("p2", Failure::kConnect),
                                      attempt("p3", Failure::kNone, 200)};
  CHECK(failover::attempts_header(tried, true) == "p1=429;p2=connect;p3=ok");
  // A 2xx that still failed (e.g. an unparsable body, a stream cut short) shows the failure.
  tried.back() = attempt("p3", Failure::kMalformed, 200);
  CHECK(failover::attempts_header(tried, false) == "p1=429;p2=connect;p3=malformed");
  CHECK(failover::attempts_header({attempt("p1", Failure::kFirstByteTimeout)}, false) == "p1=first_byte_timeout");
  CHECK(failover::attempts_header({}, false).empty());
}

TEST_CASE("final_error with nothing tried names the cause when every provider sits out a quota or a limit", "[outcome]") {
  auto quota = failover::final_error("m", {}, {{"p1", "parked (quota) for 60 s", "parked:quota"}, {"p2", "over", "over_threshold"}}, false);
  CHECK(quota.status == 429);
  CHECK(quota.code == "insufficient_quota");
  auto limited = failover::final_error("m", {}, {{"p1", "parked", "parked:quota"}, {"p2", "cooling", "parked:rate_limited"}}, false);
  CHECK(limited.status == 429);
  CHECK(limited.code == "rate_limit_exceeded");
  auto mixed = failover::final_error("m", {}, {{"p1", "parked", "parked:quota"}, {"p2", "disabled", "disabled"}}, false);
  CHECK(mixed.status == 503);
  CHECK(mixed.code == "no_usable_provider");
}
