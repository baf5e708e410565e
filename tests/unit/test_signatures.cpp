#include <catch2/catch.hpp>

#include "test_support.h"

#include <ctime>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "failover/signatures.h"

using lingmo::failover::Classification;
using lingmo::failover::ErrorClass;
using lingmo::failover::SignatureTable;
namespace failover = lingmo::failover;

namespace {

using Headers = std::map<std::string, std::string>;

constexpr const char* kFallback = "status fallback";

// 2026-11-26T12:00:00Z, a Thursday.
const int64_t kNow = epoch_ms(2026, 11, 26, 12, 0, 0);

struct Case {
  std::string name;     // vendor + situation, shown on failure
  std::string vendor;   // template id passed to classify
  long status;
  std::string body;
  Headers headers;
  std::string cls;      // expected class_name()
  std::string via;      // substring of the matching signature's note; "status fallback" = no signature
  std::string reset;    // expected reset ("" = none)
  int64_t retry_after_ms;
};

void check_case(const Case& c) {
  INFO(c.name << "\nHTTP " << c.status << " " << c.body);
  Classification r = SignatureTable::builtin().classify(c.status, c.body, c.headers, c.vendor, kNow);
  CHECK(std::string(failover::class_name(r.cls)) == c.cls);
  if (c.via == kFallback) {
    CHECK(r.note == kFallback);
  } else {
    CHECK_THAT(r.note, Catch::Contains(c.via));
  }
  CHECK(r.reset == c.reset);
  CHECK(r.retry_after_ms == c.retry_after_ms);
}

// Every byte sequence is complete UTF-8 (no character cut in half).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The built-in table against real body shapes (shared/reference/vendors.md sections 1.2 and 2).
// ---------------------------------------------------------------------------------------------

TEST_CASE("builtin table: OpenAI", "[signatures]") {
  check_case({"OpenAI 429 insufficient_quota", "openai", 429,
              R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.",)"
              R"("type":"insufficient_quota","param":null,"code":"insufficient_quota"}})",
              {}, "quota", "OpenAI: quota", "", -1});
  check_case({"OpenAI 429 insufficient_quota in type only (code null)", "openai", 429,
              R"({"error":{"message":"Quota gone","type":"insufficient_quota","param":null,"code":null}})", {}, "quota",
              "OpenAI-style type", "", -1});
  check_case({"OpenAI 429 newer spend-limit code", "openai", 429,
              R"({"error":{"message":"Project limit hit.","type":"insufficient_quota","code":"project_spend_limit_exceeded"}})",
              {}, "quota", "OpenAI: quota", "", -1});
  check_case({"OpenAI 429 rate_limit_exceeded honours retry-after", "openai", 429,
              R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): )"
              R"(Limit 30000, Used 29000, Requested 2000. Please try again in 2s. Visit )"
              R"(https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,)"
              R"("code":"rate_limit_exceeded"}})",
              {{"retry-after", "7"}, {"x-ratelimit-reset-tokens", "2s"}}, "rate_limited", kFallback, "", 7000});
  check_case({"OpenAI 401 invalid_api_key", "openai", 401,
              R"({"error":{"message":"Incorrect API key provided: sk-abc***xyz. You can find your API key at )"
              R"(https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,)"
              R"("code":"invalid_api_key"}})",
              {}, "auth", kFallback, "", -1});
}

TEST_CASE("builtin table: Anthropic", "[signatures]") {
  check_case({"Anthropic 402 billing_error", "anthropic", 402,
              R"({"type":"error","error":{"type":"billing_error","message":"Your credit balance is exhausted."},)"
              R"("request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"})",
              {}, "quota", "Anthropic: credit exhausted", "", -1});
  // The same type under another status still means quota (the status fallback would say auth).
  check_case({"Anthropic billing_error under 403", "anthropic", 403,
              R"({"type":"error","error":{"type":"billing_error","message":"Billing problem."}})", {}, "quota",
              "Anthropic: credit exhausted", "", -1});
  check_case({"Anthropic 429 spend limit reached", "anthropic", 429,
              R"({"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API )"
              R"(usage limits. You will regain access on 2026-12-01 at 00:00 UTC.",)"
              R"("details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_01"})",
              {}, "quota", "Anthropic: spend limit", "", -1});
  check_case({"Anthropic 429 rate_limit_error", "anthropic", 429,
              R"({"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate )"
              R"(limit for your organization (0f8c) of 50,000 input tokens per minute. For details, refer to: )"
              R"(https://docs.claude.com/en/api/rate-limits."},"request_id":"req_02"})",
              {{"retry-after", "12"}}, "rate_limited", kFallback, "", 12000});
  check_case({"Anthropic 529 overloaded_error", "anthropic", 529,
              R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_03"})", {},
              "overloaded", "Anthropic 529", "", -1});
  check_case({"Anthropic old 400 credit balance too low", "anthropic", 400,
              R"({"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low )"
              R"(to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}})",
              {}, "quota", "quota wording", "", -1});
  check_case({"Anthropic 401 authentication_error", "anthropic", 401,
              R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})", {}, "auth",
              kFallback, "", -1});
}

TEST_CASE("builtin table: Gemini", "[signatures]") {
  const std::string per_day =
      R"({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",)"
      R"("details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":)"
      R"("generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":)"
      R"("GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global",)"
      R"("model":"gemini-2.5-flash"},"quotaValue":"20"}]},{"@type":"type.googleapis.com/google.rpc.Help",)"
      R"("links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},)"
      R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"31s"}]}})";
  check_case({"Gemini 429 per-day quota", "gemini", 429, per_day, {}, "quota", "Gemini: a per-day quota",
              "daily@America/Los_Angeles", 31000});
  check_case({"Gemini per-day quota wrapped in [ ] (OpenAI endpoint)", "gemini", 429, "[" + per_day + "]", {}, "quota",
              "Gemini: a per-day quota", "daily@America/Los_Angeles", 31000});

  const std::string per_minute =
      R"({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",)"
      R"("details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":)"
      R"("generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":)"
      R"("GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global",)"
      R"("model":"gemini-2.5-flash"},"quotaValue":"10"}]},)"
      R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"22s"}]}})";
  check_case({"Gemini 429 per-minute quotaId with RetryInfo", "gemini", 429, per_minute, {}, "rate_limited",
              "per-minute quota is a rate limit", "", 22000});
  check_case({"Gemini per-minute wrapped in [ ]", "gemini", 429, "[" + per_minute + "]", {}, "rate_limited",
              "per-minute quota is a rate limit", "", 22000});
  // A Retry-After header wins over the body's RetryInfo.
  check_case({"Gemini per-minute with a retry-after header", "gemini", 429, per_minute, {{"retry-after", "3"}},
              "rate_limited", "per-minute quota is a rate limit", "", 3000});

  check_case({"Gemini 400 API_KEY_INVALID", "gemini", 400,
              R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",)"
              R"("details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID",)"
              R"("domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}})",
              {}, "auth", "Gemini: invalid API key (HTTP 400)", "", -1});
  // The reason alone is enough (the message wording may change).
  check_case({"Gemini 400 API_KEY_INVALID, other wording", "gemini", 400,
              R"({"error":{"code":400,"message":"Bad key.","status":"INVALID_ARGUMENT","details":[{"@type":)"
              R"("type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}})",
              {}, "auth", "Gemini: invalid API key (HTTP 400)", "", -1});
  check_case({"Gemini 400 INVALID_ARGUMENT that is not about the key", "gemini", 400,
              R"({"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"foo\".",)"
              R"("status":"INVALID_ARGUMENT"}})",
              {}, "client", kFallback, "", -1});
  check_case({"Gemini 503 UNAVAILABLE", "gemini", 503,
              R"({"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}})",
              {}, "overloaded", "Gemini: UNAVAILABLE", "", -1});
}

// Gemini's real per-minute 429 says "You exceeded your current quota ... Quota exceeded for metric"
// in its message (e.g. github.com/RooCodeInc/Roo-Code/issues/3883). The generic "quota wording"
// message; the PerMinute entry in shared/vendors/error_signatures.json, placed before the generic
// "quota wording" entry, keeps it a rate limit.
TEST_CASE("builtin table: Gemini per-minute 429 with the real 'exceeded your current quota' message",
          "[signatures]") {
  check_case({"Gemini per-minute, verbatim message", "gemini", 429,
              R"({"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing )"
              R"(details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n)"
              R"(* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_input_token_count, )"
              R"(limit: 250000, model: gemini-2.5-flash\nPlease retry in 25.6s.","status":"RESOURCE_EXHAUSTED",)"
              R"("details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":)"
              R"("generativelanguage.googleapis.com/generate_content_free_tier_input_token_count","quotaId":)"
              R"("GenerateContentInputTokensPerModelPerMinute-FreeTier","quotaValue":"250000"}]},)"
              R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}})",
              {}, "rate_limited", "", "", 26000});
}

TEST_CASE("builtin table: DeepSeek, Zhipu, DashScope", "[signatures]") {
  check_case({"DeepSeek 402 Insufficient Balance", "deepseek", 402,
              R"({"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}})",
              {}, "quota", "quota wording", "", -1});
  check_case({"DeepSeek 503 server overloaded", "deepseek", 503, R"({"error":{"message":"Server overloaded"}})", {},
              "overloaded", kFallback, "", -1});

  check_case({"Zhipu 429 1113 (arrears, not a rate limit)", "zhipu", 429,
              R"({"error":{"code":"1113","message":"余额不足或无可用资源包,请充值。"}})", {}, "quota", "Zhipu: arrears", "", -1});
  check_case({"Zhipu 1113 via the Anthropic endpoint", "zhipu", 429,
              R"({"type":"error","error":{"type":"rate_limit_error","code":"1113","message":"余额不足或无可用资源包,请充值。"}})",
              {}, "quota", "Zhipu: arrears", "", -1});
  check_case({"Zhipu 1308 usage cap", "zhipu", 429,
              R"({"error":{"code":"1308","message":"已达到 5 小时的使用上限。您的限额将在 2026-11-26 17:00:00 重置。"}})", {},
              "quota", "Zhipu: arrears", "", -1});
  check_case({"Zhipu 1302 concurrency too high", "zhipu", 429,
              R"({"error":{"code":"1302","message":"您当前使用该API的并发数过高,请降低并发,或联系客服增加限额。"}})", {},
              "rate_limited", kFallback, "", -1});
  check_case({"Zhipu 1305 model overloaded", "zhipu", 429,
              R"({"error":{"code":"1305","message":"该模型当前访问量过大,请您稍后再试"}})", {}, "overloaded", "1305", "", -1});
  check_case({"Zhipu 401 1002 invalid token", "zhipu", 401,
              R"({"error":{"code":"1002","message":"Authorization Token非法,请确认Authorization Token正确传递。"}})", {}, "auth",
              "Zhipu: authentication", "", -1});

  check_case({"DashScope HTTP 400 Arrearage is quota, not a client error", "qwen", 400,
              R"({"error":{"message":"Access denied, please make sure your account is in good standing. For details, see: )"
              R"(https://help.aliyun.com/zh/model-studio/error-code#overdue-payment","type":"Arrearage","param":null,)"
              R"("code":"Arrearage"},"id":"chatcmpl-1f3b","request_id":"1f3b-aa"})",
              {}, "quota", "DashScope", "", -1});
  check_case({"DashScope native envelope (top-level code)", "qwen", 400,
              R"({"code":"Arrearage","message":"Access denied, please make sure your account is in good standing.",)"
              R"("request_id":"1f3b-aa"})",
              {}, "quota", "DashScope", "", -1});
  check_case({"DashScope 403 AllocationQuota.FreeTierOnly is quota, not auth", "qwen", 403,
              R"({"error":{"message":"The free tier of the model has been exhausted. If you wish to continue access the )"
              R"(model on a paid basis, please disable the \"use free tier only\" mode in the management console.",)"
              R"("type":"AllocationQuota.FreeTierOnly","param":null,"code":"AllocationQuota.FreeTierOnly"}})",
              {}, "quota", "DashScope", "", -1});
  check_case({"DashScope 429 Throttling.RateQuota", "qwen", 429,
              R"({"error":{"message":"Requests rate limit exceeded, please try again later.","type":"Throttling.RateQuota",)"
              R"("param":null,"code":"Throttling.RateQuota"}})",
              {}, "rate_limited", kFallback, "", -1});
}

TEST_CASE("builtin table: Moonshot, MiniMax, SiliconFlow, Cloudflare, xAI", "[signatures]") {
  check_case({"Moonshot 429 exceeded_current_quota_error", "moonshot", 429,
              R"({"error":{"message":"Your account org-abc <ak-xyz> is suspended due to insufficient balance, please )"
              R"(recharge your account or check your plan and billing details","type":"exceeded_current_quota_error"}})",
              {}, "quota", "Moonshot", "", -1});
  check_case({"Moonshot 429 engine_overloaded_error", "moonshot", 429,
              R"({"error":{"message":"The engine is currently overloaded, please try again later","type":"engine_overloaded_error"}})",
              {}, "overloaded", "Moonshot engine overload", "", -1});
  check_case({"Moonshot 429 rate_limit_reached_error", "moonshot", 429,
              R"({"error":{"message":"Your account org-abc<ak-xyz> request reached organization max RPM: 3, please try )"
              R"(again after 1 seconds","type":"rate_limit_reached_error"}})",
              {}, "rate_limited", kFallback, "", -1});

  check_case({"MiniMax Anthropic endpoint 500 insufficient balance (1008)", "minimax", 500,
              R"j({"type":"error","error":{"type":"api_error","message":"insufficient balance (1008)"}})j", {}, "quota",
              "quota wording", "", -1});
  check_case({"MiniMax OpenAI endpoint 402", "minimax", 402,
              R"j({"error":{"type":"insufficient_balance_error","message":"insufficient balance (1008)"}})j", {}, "quota",
              "quota wording", "", -1});

  check_case({"SiliconFlow 403 code 30011 (integer, top level)", "siliconflow", 403,
              R"({"code":30011,"message":"The selected model requires paid balance. Your paid balance is insufficient. )"
              R"(Please top up and try again.","data":null})",
              {}, "quota", "SiliconFlow 30011", "", -1});

  check_case({"Cloudflare 429 3036 daily neurons used up (native envelope)", "cloudflare", 429,
              R"({"success":false,"errors":[{"code":3036,"message":"You have used up your daily free allocation of )"
              R"(10,000 neurons, please upgrade to Cloudflare's Workers Paid plan"}],"messages":[],"result":{}})",
              {}, "quota", "Cloudflare 3036", "", -1});
  check_case({"Cloudflare 429 3040 capacity (native envelope)", "cloudflare", 429,
              R"({"success":false,"errors":[{"code":3040,"message":"No more data centers to forward the request to"}],)"
              R"("messages":[],"result":{}})",
              {}, "overloaded", "Cloudflare 3040", "", -1});

  check_case({"xAI 400 incorrect API key", "xai", 400,
              R"({"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***YZ. You can )"
              R"(obtain an API key from https://console.x.ai."})",
              {}, "auth", "xAI", "", -1});
  check_case({"xAI 429 credits used up", "xai", 429,
              R"({"code":"Some resource has been exhausted","error":"Your team 1a2b has either used all available )"
              R"(credits or reached its monthly spending limit. To continue making API requests, please purchase more )"
              R"(credits or raise your spending limit."})",
              {}, "quota", "quota wording", "", -1});
}

TEST_CASE("builtin table: Groq and Cerebras per-day vs per-minute", "[signatures]") {
  check_case({"Groq 429 tokens per day (TPD)", "groq", 429,
              R"({"error":{"message":"Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01` )"
              R"(service tier `on_demand` on tokens per day (TPD): Limit 100000, Used 99500, Requested 1200. Please try )"
              R"(again in 14m24s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing",)"
              R"("type":"tokens","code":"rate_limit_exceeded"}})",
              {{"retry-after", "864"}}, "quota", "per-day limit", "daily@UTC", 864000});
  check_case({"Groq 429 requests per day (RPD)", "groq", 429,
              R"({"error":{"message":"Rate limit reached for model `llama-3.1-8b-instant` in organization `org_01` on )"
              R"(requests per day (RPD): Limit 14400, Used 14400, Requested 1.","type":"requests","code":"rate_limit_exceeded"}})",
              {}, "quota", "per-day limit", "daily@UTC", -1});
  check_case({"Groq 429 tokens per minute (TPM)", "groq", 429,
              R"({"error":{"message":"Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01` )"
              R"(service tier `on_demand` on tokens per minute (TPM): Limit 12000, Used 11000, Requested 2000. Please try )"
              R"(again in 5s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing",)"
              R"("type":"tokens","code":"rate_limit_exceeded"}})",
              {{"retry-after", "5"}}, "rate_limited", kFallback, "", 5000});
  // The per-day signature is tied to HTTP 429: the same words under 413 are not a quota.
  check_case({"Groq 413 naming TPD is not the per-day signature", "groq", 413,
              R"({"error":{"message":"Request too large for model on tokens per day (TPD).","type":"tokens"}})", {},
              "client", kFallback, "", -1});

  check_case({"Cerebras 429 per-minute with code request_quota_exceeded is NOT quota", "cerebras", 429,
              R"({"message":"Requests per minute limit exceeded - too many requests sent.","type":"too_many_requests_error",)"
              R"("param":"quota","code":"request_quota_exceeded"})",
              {}, "rate_limited", kFallback, "", -1});
  check_case({"Cerebras 429 tokens per day", "cerebras", 429,
              R"({"message":"Tokens per day limit exceeded - too many tokens processed.","type":"too_many_requests_error",)"
              R"("param":"quota","code":"token_quota_exceeded"})",
              {}, "quota", "per-day limit", "daily@UTC", -1});
}

TEST_CASE("builtin table: generic statuses", "[signatures]") {
  check_case({"plain 400 invalid_request_error", "openai", 400,
              R"({"error":{"message":"'messages' must contain at least one message.","type":"invalid_request_error",)"
              R"("param":"messages","code":null}})",
              {}, "client", kFallback, "", -1});
  check_case({"404 model_not_found", "openai", 404,
              R"({"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.",)"
              R"("type":"invalid_request_error","param":null,"code":"model_not_found"}})",
              {}, "not_found", "404", "", -1});
  check_case({"500 empty body", "", 500, "", {}, "overloaded", kFallback, "", -1});
  check_case({"502 HTML from a proxy", "", 502,
              "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
              "</center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n",
              {}, "overloaded", kFallback, "", -1});
  check_case({"408 timeout", "", 408, "", {}, "overloaded", kFallback, "", -1});
  check_case({"402 with no body", "", 402, "", {}, "quota", kFallback, "", -1});
  check_case({"403 with no body", "", 403, "", {}, "auth", kFallback, "", -1});
  check_case({"429 with no body", "", 429, "", {}, "rate_limited", kFallback, "", -1});
  check_case({"422 unprocessable", "", 422, R"({"detail":"bad"})", {}, "client", kFallback, "", -1});
  check_case({"plain-text 429 body", "", 429, "Too Many Requests", {}, "rate_limited", kFallback, "", -1});
  check_case({"plain-text body naming a balance problem", "", 403, "Forbidden: insufficient balance on this account", {},
              "quota", "quota wording", "", -1});
}

TEST_CASE("classify reports the vendor's message, shortened at a character boundary", "[signatures]") {
  auto c = SignatureTable::builtin().classify(
      400, R"({"error":{"message":"'messages' is required","type":"invalid_request_error"}})", {}, "openai", kNow);
  CHECK(c.message == "'messages' is required");

  std::string long_ascii(500, 'x');
  c = SignatureTable::builtin().classify(400, R"({"error":{"message":")" + long_ascii + R"("}})", {}, "", kNow);
  CHECK(c.message == std::string(200, 'x') + "...");

  // 100 CJK characters = 300 bytes; a cut at byte 200 would split a character.
  std::string cjk;
  for (int i = 0; i < 100; ++i) cjk += "额";
  c = SignatureTable::builtin().classify(400, R"({"error":{"message":")" + cjk + R"("}})", {}, "", kNow);
  CHECK(c.message.size() <= 203);
  CHECK(c.message.size() >= 195);
  CHECK_THAT(c.message, Catch::EndsWith("..."));
  CHECK(valid_utf8(c.message));
}

TEST_CASE("extract_fields flattens the vendor shapes", "[signatures]") {
  auto f = failover::extract_fields(
      R"([{"error":{"code":429,"message":"m","status":"RESOURCE_EXHAUSTED","details":[)"
      R"({"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"A"},{"quotaId":"B"}]},)"
      R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"},)"
      R"({"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R"}]}}])");
  CHECK(f.code == "429");
  CHECK(f.message == "m");
  CHECK(f.google_status == "RESOURCE_EXHAUSTED");
  CHECK(f.quota_ids == std::vector<std::string>{"A", "B"});
  CHECK(f.retry_delay_ms == 1500);
  CHECK(f.reason == "R");

  f = failover::extract_fields(R"({"type":"error","error":{"type":"rate_limit_error","message":"m",)"
                               R"("details":{"error_code":"enforced_spend_limit_reached"}}})");
  CHECK(f.type == "rate_limit_error");
  CHECK(f.detail_code == "enforced_spend_limit_reached");

  f = failover::extract_fields(R"({"type":"error","error":{"message":"m"}})");
  CHECK(f.type.empty());  // the Anthropic envelope's "error" is not an error type

  f = failover::extract_fields(R"({"error":"plain string error"})");
  CHECK(f.message == "plain string error");

  // Bodies that are not error objects never throw and give empty fields.
  for (const char* body : {"", "[]", "[1]", "null", "42", R"("s")", R"({"error":null})", R"({"error":{"details":[1,null]}})",
                           R"({"error":{"details":[{"@type":"x.QuotaFailure","violations":[1,"a"]}]}})",
                           R"({"error":{"details":[{"@type":"x.RetryInfo","retryDelay":"."}]}})"}) {
    CAPTURE(body);
    auto e = failover::extract_fields(body);
    CHECK(e.type.empty());
    CHECK(e.code.empty());
    CHECK(e.retry_delay_ms == -1);
  }
}

// ---------------------------------------------------------------------------------------------
// Custom tables
// ---------------------------------------------------------------------------------------------

TEST_CASE("SignatureTable::parse rejects malformed tables", "[signatures]") {
  CHECK_FALSE(SignatureTable::parse("not json"));
  CHECK_FALSE(SignatureTable::parse(R"({"signatures": [)"));
  CHECK_FALSE(SignatureTable::parse(R"([])"));
  CHECK_FALSE(SignatureTable::parse(R"({"signatures": {}})"));
  CHECK_FALSE(SignatureTable::parse(R"({"entries": []})"));

  auto unknown = SignatureTable::parse(R"({"signatures": [{"code": "x", "class": "quota"}, {"code": "y", "class": "bogus"}]})");
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error(), Catch::Contains("unknown class") && Catch::Contains("bogus") && Catch::Contains("2"));
  CHECK_FALSE(SignatureTable::parse(R"({"signatures": [{"code": "x"}]})"));  // no class at all

  auto all = SignatureTable::parse(R"({"signatures": [{"note": "catch-all", "class": "quota"}]})");
  REQUIRE_FALSE(all);
  CHECK_THAT(all.error(), Catch::Contains("matches everything"));
  // A vendor alone still matches every answer of that vendor.
  CHECK_FALSE(SignatureTable::parse(R"({"signatures": [{"vendor": "acme", "class": "quota"}]})"));
  CHECK_FALSE(SignatureTable::parse(R"({"signatures": [{"reset": "daily@UTC", "class": "quota"}]})"));

  auto empty = SignatureTable::parse(R"({"signatures": [{"code": [], "class": "quota"}]})");
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error(), Catch::Contains("empty"));
  CHECK_FALSE(SignatureTable::parse(R"({"signatures": [{"message": [1, 2], "class": "quota"}]})"));

  auto ok = SignatureTable::parse(R"({"signatures": [{"status": 404, "class": "not_found"}, {"code": ["a", "b"], "class": "auth"}]})");
  REQUIRE(ok);
  CHECK(ok.value().size() == 2);
  CHECK(SignatureTable::parse(R"({"signatures": []})").value().size() == 0);
  CHECK(SignatureTable::builtin().size() > 15);
}

TEST_CASE("a signature with a vendor applies to that vendor only", "[signatures]") {
  auto t = SignatureTable::parse(
      R"({"signatures": [{"note": "acme E42", "vendor": "Acme", "code": "E42", "class": "quota", "reset": "daily@Asia/Shanghai"}]})");
  REQUIRE(t);
  const std::string body = R"({"error":{"code":"e42","message":"out of credit"}})";
  for (const char* vendor : {"acme", "ACME", "Acme"}) {
    CAPTURE(vendor);
    auto c = t.value().classify(429, body, {}, vendor, kNow);
    CHECK(c.cls == ErrorClass::kQuota);
    CHECK(c.note == "acme E42");
    CHECK(c.reset == "daily@Asia/Shanghai");
  }
  for (const char* vendor : {"", "other", "acme2"}) {
    CAPTURE(vendor);
    auto c = t.value().classify(429, body, {}, vendor, kNow);
    CHECK(c.cls == ErrorClass::kRateLimited);
    CHECK(c.note == kFallback);
    CHECK(c.reset.empty());
  }
}

TEST_CASE("the first matching signature wins; every given field must match", "[signatures]") {
  const std::string a = R"({"note": "A", "code": "x", "class": "auth"})";
  const std::string b = R"({"note": "B", "code": "x", "class": "quota"})";
  auto ab = SignatureTable::parse(R"({"signatures": [)" + a + "," + b + "]}");
  auto ba = SignatureTable::parse(R"({"signatures": [)" + b + "," + a + "]}");
  REQUIRE(ab);
  REQUIRE(ba);
  const std::string body = R"({"error":{"code":"X"}})";
  CHECK(ab.value().classify(400, body, {}, "", kNow).cls == ErrorClass::kAuth);
  CHECK(ab.value().classify(400, body, {}, "", kNow).note == "A");
  CHECK(ba.value().classify(400, body, {}, "", kNow).cls == ErrorClass::kQuota);
  CHECK(ba.value().classify(400, body, {}, "", kNow).note == "B");

  // status + type + message substring: all three must hold.
  auto t = SignatureTable::parse(
      R"({"signatures": [{"note": "S", "status": 429, "type": "tokens", "message": ["per day"], "class": "quota"}]})");
  REQUIRE(t);
  auto cls = [&](long status, const std::string& body) { return t.value().classify(status, body, {}, "", kNow).note; };
  CHECK(cls(429, R"({"error":{"type":"Tokens","message":"limit PER DAY reached"}})") == "S");
  CHECK(cls(400, R"({"error":{"type":"tokens","message":"limit per day reached"}})") == kFallback);
  CHECK(cls(429, R"({"error":{"type":"requests","message":"limit per day reached"}})") == kFallback);
  CHECK(cls(429, R"({"error":{"type":"tokens","message":"limit per minute reached"}})") == kFallback);
  // type matches the whole value, not a substring.
  CHECK(cls(429, R"({"error":{"type":"tokens_x","message":"per day"}})") == kFallback);
}

// ---------------------------------------------------------------------------------------------
// Retry hints
// ---------------------------------------------------------------------------------------------

TEST_CASE("retry_hint_ms reads Retry-After and x-ratelimit-reset-*", "[signatures]") {
  using failover::retry_hint_ms;
  CHECK(retry_hint_ms({}, kNow) == -1);
  CHECK(retry_hint_ms({{"content-type", "application/json"}}, kNow) == -1);
  CHECK(retry_hint_ms({{"retry-after", "30"}}, kNow) == 30000);
  CHECK(retry_hint_ms({{"retry-after", "0"}}, kNow) == 0);
  // HTTP-date, relative to now (kNow = Thu, 26 Nov 2026 12:00:00 GMT).
  CHECK(retry_hint_ms({{"retry-after", "Thu, 26 Nov 2026 12:01:30 GMT"}}, kNow) == 90000);
  CHECK(retry_hint_ms({{"retry-after", "Thu, 26 Nov 2026 12:01:30 GMT"}}, kNow + 30000) == 60000);
  CHECK(retry_hint_ms({{"retry-after", "Wed, 25 Nov 2026 12:00:00 GMT"}}, kNow) == 0);  // in the past
  CHECK(retry_hint_ms({{"retry-after-ms", "1500"}}, kNow) == 1500);
  CHECK(retry_hint_ms({{"x-ratelimit-reset-requests", "6m0s"}, {"x-ratelimit-reset-tokens", "1s"}}, kNow) == 360000);
  CHECK(retry_hint_ms({{"x-ratelimit-reset-requests", "1s"}, {"x-ratelimit-reset-tokens", "2m59.56s"}}, kNow) == 179560);
  CHECK(retry_hint_ms({{"x-ratelimit-reset-tokens", "250ms"}}, kNow) == 250);
  // Retry-After is the vendor's explicit word: it wins over the reset headers.
  CHECK(retry_hint_ms({{"retry-after", "2"}, {"x-ratelimit-reset-requests", "6m0s"}}, kNow) == 2000);
  // Unparsable values are skipped, not fatal.
  CHECK(retry_hint_ms({{"retry-after", "soon"}}, kNow) == -1);
  CHECK(retry_hint_ms({{"retry-after", "soon"}, {"x-ratelimit-reset-tokens", "4s"}}, kNow) == 4000);
  CHECK(retry_hint_ms({{"x-ratelimit-reset-requests", "garbage"}, {"x-ratelimit-reset-tokens", "1s"}}, kNow) == 1000);
  CHECK(retry_hint_ms({{"retry-after", "."}}, kNow) == -1);
}
