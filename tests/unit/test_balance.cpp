#include <catch2/catch.hpp>

#include <algorithm>

#include "config/schema.h"
#include "quota/balance.h"

using namespace lingmo::quota;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

BalanceReading parse(BalanceKind k, const std::string& body, long status = 200, const std::string& host = "") {
  return parse_balance(k, status, body, host, kNow);
}

// A reading that failed, with `part` in its reason, and no figure in it.
void check_error(const BalanceReading& r, const std::string& part) {
  INFO(r.error);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find(part) != std::string::npos);
  CHECK_FALSE(r.balance.has_value());
  CHECK_FALSE(r.spent.has_value());
  CHECK(r.windows.empty());
}

const UsageWindow* window(const BalanceReading& r, const std::string& name) {
  for (const auto& w : r.windows)
    if (w.name == name) return &w;
  return nullptr;
}

}  // namespace

TEST_CASE("balance: kind names, admin usage by dialect", "[balance]") {
  CHECK(balance_kind_from_name("deepseek", "openai") == BalanceKind::kDeepSeek);
  CHECK(balance_kind_from_name("none", "openai") == BalanceKind::kNone);
  CHECK(balance_kind_from_name("admin_usage", "openai") == BalanceKind::kOpenAIAdmin);
  CHECK(balance_kind_from_name("admin_usage", "anthropic") == BalanceKind::kAnthropicAdmin);
  CHECK_FALSE(balance_kind_from_name("paypal", "openai"));
  CHECK(std::string(balance_kind_name(BalanceKind::kAnthropicAdmin)) == "admin_usage");
  CHECK(needs_admin_key(BalanceKind::kOpenAIAdmin));
  CHECK_FALSE(needs_admin_key(BalanceKind::kZhipu));
}

TEST_CASE("balance: amounts parse completely or not at all", "[balance]") {
  double v = -1;
  CHECK(parse_amount("23.50", v));
  CHECK(v == Approx(23.5));
  CHECK(parse_amount("-4", v));
  CHECK(v == -4);
  CHECK(parse_amount("1e3", v));
  CHECK(v == 1000);
  for (const char* bad : {"", " 5", "5 ", "12abc", "0x10", "inf", "nan", "1,5", "¥3", "--1"}) {
    INFO(bad);
    CHECK_FALSE(parse_amount(bad, v));
  }
}

TEST_CASE("balance: the request is on the provider's origin, or the configured URL", "[balance]") {
  auto r = balance_request(BalanceKind::kDeepSeek, "https://api.deepseek.com/v1", "", kNow);
  CHECK(r.url == "https://api.deepseek.com/user/balance");
  CHECK(r.host == "api.deepseek.com");
  CHECK(balance_request(BalanceKind::kZhipu, "https://open.bigmodel.cn/api/paas/v4", "", kNow).url ==
        "https://open.bigmodel.cn/api/monitor/usage/quota/limit");
  CHECK(balance_request(BalanceKind::kOpenRouter, "https://openrouter.ai/api/v1", "", kNow).url == "https://openrouter.ai/api/v1/key");
  CHECK(balance_request(BalanceKind::kMiniMax, "https://api.minimaxi.com/v1", "", kNow).url == "https://api.minimaxi.com/v1/token_plan/remains");
  CHECK(balance_request(BalanceKind::kMoonshot, "https://api.moonshot.ai/v1", "", kNow).host == "api.moonshot.ai");
  auto local = balance_request(BalanceKind::kStepFun, "http://127.0.0.1:8080/v1", "http://127.0.0.1:9/fake/accounts", kNow);
  CHECK(local.url == "http://127.0.0.1:9/fake/accounts");
  CHECK(local.host == "127.0.0.1");
  // Admin usage: this month (2027-01) so far, in daily buckets.
  CHECK(balance_request(BalanceKind::kOpenAIAdmin, "https://api.openai.com/v1", "", kNow).url ==
        "https://api.openai.com/v1/organization/costs?start_time=1798761600&bucket_width=1d&limit=31");
  CHECK(balance_request(BalanceKind::kAnthropicAdmin, "https://api.anthropic.com/v1", "http://x/cost?a=1", kNow).url ==
        "http://x/cost?a=1&starting_at=2027-01-01T00:00:00Z&bucket_width=1d&limit=31");
}

TEST_CASE("balance: headers carry the key as each endpoint wants it", "[balance]") {
  auto h = balance_headers(BalanceKind::kDeepSeek, "sk-1");
  CHECK(std::find(h.begin(), h.end(), "Authorization: Bearer sk-1") != h.end());
  auto a = balance_headers(BalanceKind::kAnthropicAdmin, "sk-ant-admin-1");
  CHECK(std::find(a.begin(), a.end(), "x-api-key: sk-ant-admin-1") != a.end());
  CHECK(std::find(a.begin(), a.end(), "anthropic-version: 2023-06-01") != a.end());
}

TEST_CASE("balance: currency by host when the vendor does not say", "[balance]") {
  CHECK(currency_for_host(BalanceKind::kMoonshot, "api.moonshot.cn") == "CNY");
  CHECK(currency_for_host(BalanceKind::kMoonshot, "api.moonshot.ai") == "USD");
  CHECK(currency_for_host(BalanceKind::kStepFun, "api.stepfun.com") == "CNY");
  CHECK(currency_for_host(BalanceKind::kStepFun, "api.stepfun.ai") == "USD");
  CHECK(currency_for_host(BalanceKind::kSiliconFlow, "api.siliconflow.cn") == "CNY");
  CHECK(currency_for_host(BalanceKind::kMoonshot, "127.0.0.1") == "");
  auto r = parse(BalanceKind::kMoonshot, R"({"code":0,"data":{"available_balance":1,"voucher_balance":0,"cash_balance":1},"status":true})",
                 200, "api.moonshot.ai");
  CHECK(r.currency == "USD");
}

TEST_CASE("balance: DeepSeek", "[balance]") {
  auto r = parse(BalanceKind::kDeepSeek,
                 R"({"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"23.50","granted_balance":"3.50","topped_up_balance":"20.00"}]})");
  REQUIRE(r.ok);
  CHECK(*r.balance == Approx(23.5));
  CHECK(r.currency == "CNY");
  CHECK(r.available);
  auto off = parse(BalanceKind::kDeepSeek, R"({"is_available":false,"balance_infos":[{"currency":"USD","total_balance":"0.00"}]})");
  REQUIRE(off.ok);
  CHECK_FALSE(off.available);
  CHECK(*off.balance == 0);
  CHECK(off.currency == "USD");
  auto none = parse(BalanceKind::kDeepSeek, R"({"is_available":false,"balance_infos":[]})");
  REQUIRE(none.ok);
  CHECK_FALSE(none.balance.has_value());  // no figure: unknown, not zero
  check_error(parse(BalanceKind::kDeepSeek, R"({"balance_infos":[]})"), "is_available missing");
  check_error(parse(BalanceKind::kDeepSeek, R"({"is_available":"yes","balance_infos":[]})"), "is_available is not true/false");
  check_error(parse(BalanceKind::kDeepSeek, R"({"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"12abc"}]})"),
              "balance_infos[0].total_balance is not a number");
  check_error(parse(BalanceKind::kDeepSeek, R"({"is_available":true,"balance_infos":[{"currency":"CNY"}]})"),
              "balance_infos[0].total_balance missing");
  check_error(parse(BalanceKind::kDeepSeek, R"({"is_available":true,"balance_infos":{}})"), "balance_infos is not an array");
  check_error(parse(BalanceKind::kDeepSeek, R"({"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":null}]})"),
              "total_balance missing");
}

TEST_CASE("balance: Moonshot", "[balance]") {
  auto r = parse(BalanceKind::kMoonshot,
                 R"({"code":0,"data":{"available_balance":12.4,"voucher_balance":10.0,"cash_balance":2.4},"scode":"0x0","status":true})", 200,
                 "api.moonshot.cn");
  REQUIRE(r.ok);
  CHECK(*r.balance == Approx(12.4));
  CHECK(r.currency == "CNY");
  CHECK(r.available);
  auto owed = parse(BalanceKind::kMoonshot, R"({"code":0,"data":{"available_balance":-1.5,"voucher_balance":0,"cash_balance":-1.5}})");
  REQUIRE(owed.ok);
  CHECK(*owed.balance == Approx(-1.5));
  CHECK_FALSE(owed.available);  // [doc] available_balance <= 0: calls fail
  check_error(parse(BalanceKind::kMoonshot, R"({"code":0,"data":{"voucher_balance":1}})"), "data.available_balance missing");
  check_error(parse(BalanceKind::kMoonshot, R"({"code":0,"data":{"available_balance":true}})"), "data.available_balance is not a number");
  check_error(parse(BalanceKind::kMoonshot, R"({"code":0,"data":{"available_balance":1,"cash_balance":"x"}})"), "data.cash_balance");
  check_error(parse(BalanceKind::kMoonshot, R"({"code":5,"message":"bad token","data":null})"), "code 5: bad token");
  check_error(parse(BalanceKind::kMoonshot, R"({"code":0,"data":[1]})"), "data is not an object");
}

TEST_CASE("balance: SiliconFlow", "[balance]") {
  auto r = parse(BalanceKind::kSiliconFlow,
                 R"({"code":20000,"message":"OK","status":true,"data":{"id":"u1","balance":"1.20","chargeBalance":"30.00","totalBalance":"31.20","status":"normal"}})",
                 200, "api.siliconflow.cn");
  REQUIRE(r.ok);
  CHECK(*r.balance == Approx(31.2));
  CHECK(r.currency == "CNY");
  check_error(parse(BalanceKind::kSiliconFlow, R"({"code":20000,"status":true,"data":{"balance":"1.20"}})"), "data.totalBalance missing");
  check_error(parse(BalanceKind::kSiliconFlow, R"({"code":20000,"status":true,"data":{"totalBalance":"31,20"}})"),
              "data.totalBalance is not a number");
  check_error(parse(BalanceKind::kSiliconFlow, R"({"code":30011,"message":"paid balance insufficient","data":null})"), "code 30011");
  check_error(parse(BalanceKind::kSiliconFlow, R"({"status":false,"message":"Invalid token"})"), "status false: Invalid token");
}

TEST_CASE("balance: OpenRouter key limits and free daily requests", "[balance]") {
  auto r = parse(BalanceKind::kOpenRouter,
                 R"({"data":{"label":"sk-or-v1-au7...890","limit":100,"limit_remaining":74.5,"limit_reset":"monthly","usage":25.5,"usage_daily":1,"is_free_tier":false,
                     "free_model_daily_requests":{"limit":1000,"remaining":900,"used":100}}})");
  REQUIRE(r.ok);
  CHECK(*r.balance == Approx(74.5));
  CHECK(r.currency == "USD");
  const auto* k = window(r, "key_limit");
  REQUIRE(k);
  CHECK(k->percent == Approx(25.5));
  CHECK(k->limit == 100);
  CHECK(k->resets_ms == 1'801'440'000'000);  // 2027-02-01T00:00:00Z
  CHECK(k->gates);
  const auto* f = window(r, "free_daily_requests");
  REQUIRE(f);
  CHECK(f->percent == Approx(10));
  CHECK_FALSE(f->gates);
  CHECK(f->resets_ms == 1'800'057'600'000);  // the next UTC midnight
  auto unlimited = parse(BalanceKind::kOpenRouter, R"({"data":{"label":"x","limit":null,"limit_remaining":null,"usage":3.2,"is_free_tier":true}})");
  REQUIRE(unlimited.ok);
  CHECK_FALSE(unlimited.balance.has_value());  // no limit: nothing to report, not zero
  CHECK(unlimited.windows.empty());
  check_error(parse(BalanceKind::kOpenRouter, R"({"data":{"usage":1}})"), "data.limit missing");
  check_error(parse(BalanceKind::kOpenRouter, R"({"data":{"limit":"lots","usage":1}})"), "data.limit is not a number");
  check_error(parse(BalanceKind::kOpenRouter, R"({"data":{"limit":null}})"), "data.usage missing");
  check_error(parse(BalanceKind::kOpenRouter, R"({"data":{"limit":5,"limit_remaining":1,"usage":4,"limit_reset":7}})"), "data.limit_reset");
}

TEST_CASE("balance: StepFun", "[balance]") {
  auto r = parse(BalanceKind::kStepFun, R"({"object":"account","type":"x","balance":88.8,"total_cash_balance":100,"total_voucher_balance":5})", 200,
                 "api.stepfun.com");
  REQUIRE(r.ok);
  CHECK(*r.balance == Approx(88.8));
  CHECK(r.currency == "CNY");
  check_error(parse(BalanceKind::kStepFun, R"({"object":"account","total_cash_balance":100})"), "balance missing");
  check_error(parse(BalanceKind::kStepFun, R"({"balance":[1]})"), "balance is not a number");
}

TEST_CASE("balance: xAI key flags", "[balance]") {
  auto ok = parse(BalanceKind::kXai, R"({"redacted_api_key":"xai-...abc","api_key_blocked":false,"api_key_disabled":false,"team_blocked":false})");
  REQUIRE(ok.ok);
  CHECK_FALSE(ok.key_blocked);
  CHECK(ok.available);
  CHECK_FALSE(ok.balance.has_value());
  auto blocked = parse(BalanceKind::kXai, R"({"api_key_blocked":false,"api_key_disabled":false,"team_blocked":true})");
  REQUIRE(blocked.ok);
  CHECK(blocked.key_blocked);
  CHECK_FALSE(blocked.available);
  check_error(parse(BalanceKind::kXai, R"({"api_key_blocked":false,"team_blocked":false})"), "api_key_disabled missing");
  check_error(parse(BalanceKind::kXai, R"({"api_key_blocked":0,"api_key_disabled":false,"team_blocked":false})"), "is not true/false");
}

TEST_CASE("balance: Zhipu coding-plan windows", "[balance]") {
  auto r = parse(BalanceKind::kZhipu, R"({"code":200,"msg":"ok","success":true,"data":{"level":"lite","limits":[
      {"type":"TIME_LIMIT","unit":5,"number":1,"usage":100,"currentValue":28,"remaining":72,"percentage":28,"nextResetTime":1800600000000},
      {"type":"TOKENS_LIMIT","unit":3,"number":5,"percentage":97,"nextResetTime":1800010000000}]}})");
  REQUIRE(r.ok);
  CHECK_FALSE(r.balance.has_value());
  REQUIRE(r.windows.size() == 2);
  const auto* t = window(r, "TOKENS_LIMIT/5h");
  REQUIRE(t);
  CHECK(t->percent == 97);
  CHECK(t->resets_ms == 1'800'010'000'000);
  CHECK(t->gates);
  CHECK(t->used == -1);  // this type does not say
  const auto* m = window(r, "TIME_LIMIT/1mo");
  REQUIRE(m);
  CHECK(m->used == 28);
  CHECK(m->limit == 100);
  CHECK_FALSE(m->gates);  // MCP tool calls: a full month does not stop chat
  // [obs] variant: data is the array, CREDIT_LIMIT windows, weekly unit.
  auto v = parse(BalanceKind::kZhipu, R"({"code":200,"data":[{"type":"CREDIT_LIMIT","unit":6,"number":1,"usage":60000,"currentValue":1226,"percentage":2,"nextResetTime":1790322046980}]})");
  REQUIRE(v.ok);
  REQUIRE(window(v, "CREDIT_LIMIT/1w"));
  CHECK(window(v, "CREDIT_LIMIT/1w")->gates);
  check_error(parse(BalanceKind::kZhipu, R"({"code":200,"data":{"limits":[{"type":"TOKENS_LIMIT","unit":3,"number":5}]}})"),
              "data.limits[0].percentage missing");
  check_error(parse(BalanceKind::kZhipu, R"({"code":200,"data":{"limits":[{"type":"TOKENS_LIMIT","percentage":"high"}]}})"),
              "data.limits[0].percentage is not a number");
  check_error(parse(BalanceKind::kZhipu, R"({"code":200,"data":{"level":"lite"}})"), "data.limits missing");
  check_error(parse(BalanceKind::kZhipu, R"({"code":1001,"msg":"token expired","success":false})"), "code 1001: token expired");
}

TEST_CASE("balance: MiniMax Token Plan windows", "[balance]") {
  auto r = parse(BalanceKind::kMiniMax, R"({"base_resp":{"status_code":0,"status_msg":"success"},"model_remains":[
      {"model_name":"MiniMax-M2","start_time":1799990000000,"end_time":1800008000000,"current_interval_total_count":1500,
       "current_interval_usage_count":1495,"current_interval_remaining_percent":1,"weekly_end_time":1800500000000,
       "current_weekly_total_count":15000,"current_weekly_usage_count":14530,"current_weekly_remaining_percent":96},
      {"model_name":"video","current_interval_total_count":5,"current_interval_usage_count":5}]})");
  REQUIRE(r.ok);
  const auto* i = window(r, "MiniMax-M2/interval");
  REQUIRE(i);
  CHECK(i->percent == 99);
  CHECK(i->limit == 1500);
  CHECK(i->used == 1485);
  CHECK(i->resets_ms == 1'800'008'000'000);
  CHECK(i->gates);
  REQUIRE(window(r, "MiniMax-M2/weekly"));
  CHECK(window(r, "MiniMax-M2/weekly")->percent == 4);
  // Counts only: what *_usage_count means is disputed, so the share stays unknown.
  const auto* video = window(r, "video/interval");
  REQUIRE(video);
  CHECK(video->percent == -1);
  CHECK_FALSE(video->gates);
  // End times in seconds are read as seconds.
  auto secs = parse(BalanceKind::kMiniMax, R"({"model_remains":[{"model_name":"general","current_interval_remaining_percent":50,"end_time":1800008000}]})");
  REQUIRE(secs.ok);
  CHECK(window(secs, "general/interval")->resets_ms == 1'800'008'000'000);
  check_error(parse(BalanceKind::kMiniMax, R"({"model_remains":null,"base_resp":{"status_code":0}})"), "no Token Plan");
  check_error(parse(BalanceKind::kMiniMax, R"({"base_resp":{"status_code":1004,"status_msg":"auth failed"}})"), "code 1004: auth failed");
  check_error(parse(BalanceKind::kMiniMax, R"({"model_remains":[{"current_interval_remaining_percent":5}]})"), "model_name missing");
  check_error(parse(BalanceKind::kMiniMax, R"({"model_remains":[{"model_name":"general","current_interval_remaining_percent":"most"}]})"),
              "current_interval_remaining_percent is not a number");
  check_error(parse(BalanceKind::kMiniMax, R"({"base_resp":{"status_code":0}})"), "model_remains missing");
}

TEST_CASE("balance: OpenAI admin costs, month to date", "[balance]") {
  auto r = parse(BalanceKind::kOpenAIAdmin, R"({"object":"page","data":[
      {"object":"bucket","start_time":1799020800,"end_time":1799107200,"results":[{"object":"organization.costs.result","amount":{"value":0.06,"currency":"usd"}}]},
      {"object":"bucket","start_time":1799107200,"end_time":1799193600,"results":[{"amount":{"value":1.5,"currency":"usd"}},{"amount":{"value":"2","currency":"usd"}}]}],
      "has_more":false,"next_page":null})");
  REQUIRE(r.ok);
  CHECK(*r.spent == Approx(3.56));
  CHECK(r.currency == "USD");
  CHECK_FALSE(r.balance.has_value());
  auto empty = parse(BalanceKind::kOpenAIAdmin, R"({"object":"page","data":[],"has_more":false})");
  REQUIRE(empty.ok);
  CHECK(*empty.spent == 0);  // a complete, empty month is a real zero
  check_error(parse(BalanceKind::kOpenAIAdmin, R"({"object":"page","data":[{"results":[{"amount":{"currency":"usd"}}]}]})"),
              "data[0].results[0].amount.value missing");
  check_error(parse(BalanceKind::kOpenAIAdmin, R"({"object":"page","data":[{"results":[]}],"has_more":true,"next_page":"p2"})"), "has_more");
  check_error(parse(BalanceKind::kOpenAIAdmin, R"({"object":"page"})"), "data missing");
}

TEST_CASE("balance: Anthropic admin cost report, in cents", "[balance]") {
  auto r = parse(BalanceKind::kAnthropicAdmin, R"({"data":[{"starting_at":"2027-01-01T00:00:00Z","ending_at":"2027-01-02T00:00:00Z",
      "results":[{"currency":"USD","amount":"123.45"},{"currency":"USD","amount":"100"}]}],"has_more":false,"next_page":null})");
  REQUIRE(r.ok);
  CHECK(*r.spent == Approx(2.2345));
  CHECK(r.currency == "USD");
  check_error(parse(BalanceKind::kAnthropicAdmin, R"({"data":[]})"), "has_more missing");
  check_error(parse(BalanceKind::kAnthropicAdmin, R"({"data":[{"results":[{"amount":"1.2.3"}]}],"has_more":false})"), "amount is not a number");
}

TEST_CASE("balance: error statuses, garbage and HTML are errors, never zero", "[balance]") {
  for (auto k : {BalanceKind::kDeepSeek, BalanceKind::kMoonshot, BalanceKind::kSiliconFlow, BalanceKind::kOpenRouter, BalanceKind::kStepFun,
                 BalanceKind::kXai, BalanceKind::kZhipu, BalanceKind::kMiniMax, BalanceKind::kOpenAIAdmin, BalanceKind::kAnthropicAdmin}) {
    INFO(balance_kind_name(k));
    check_error(parse(k, R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}})", 401), "HTTP 401: Incorrect API key");
    check_error(parse(k, "<html><body>Bad gateway</body></html>", 502), "HTTP 502: (an HTML page)");
    check_error(parse(k, "", 500), "HTTP 500: (empty body)");
    check_error(parse(k, "<!DOCTYPE html><html><title>Just a moment...</title></html>"), "not JSON: (an HTML page)");
    check_error(parse(k, "balance: 12"), "not JSON: balance: 12");
    check_error(parse(k, "[1,2,3]"), "not a JSON object");
    check_error(parse(k, R"({"error":{"message":"rate limited"}})"), "the vendor answered an error: rate limited");
    check_error(parse(k, R"({"unexpected":true})"), "unexpected shape");
  }
  check_error(parse(BalanceKind::kNone, "{}"), "no balance endpoint");
}

TEST_CASE("balance: the provider's balance settings round-trip and never cost the data plane a provider", "[balance][schema]") {
  auto p = lingmo::schema::provider_from_json(
      R"({"id":"ds","base_url":"https://api.deepseek.com/v1","models":["m"],
          "balance":{"kind":"deepseek","url":"http://127.0.0.1:9/user/balance","currency":"CNY","admin_key_sealed":"lmk1:x"}})");
  REQUIRE(p);
  CHECK(p.value().balance.kind == "deepseek");
  CHECK(p.value().balance.url == "http://127.0.0.1:9/user/balance");
  CHECK(p.value().balance.currency == "CNY");
  CHECK(p.value().balance.admin_key_sealed == "lmk1:x");
  auto again = lingmo::schema::provider_from_json(lingmo::schema::to_json(p.value()));
  REQUIRE(again);
  CHECK(again.value().balance.url == p.value().balance.url);
  CHECK(again.value().balance.admin_key_sealed == "lmk1:x");
  // Not set: not written, so providers keep their stored shape.
  auto plain = lingmo::schema::provider_from_json(R"({"id":"x","base_url":"https://a.example/v1","models":["m"]})");
  REQUIRE(plain);
  CHECK(plain.value().balance.empty());
  CHECK(lingmo::schema::to_json(plain.value()).find("balance") == std::string::npos);
  // Wrong types are ignored here (the API refuses them on input): the provider still loads.
  auto odd = lingmo::schema::provider_from_json(R"({"id":"y","base_url":"https://a.example/v1","models":["m"],"balance":{"kind":5,"url":[]}})");
  REQUIRE(odd);
  CHECK(odd.value().balance.empty());
  CHECK(lingmo::schema::provider_from_json(R"({"id":"z","base_url":"https://a.example/v1","models":["m"],"balance":"deepseek"})"));
}
