// Quota rules (spec parsing, windows in time zones, caps) and admission plans / corrections.
#include <catch2/catch.hpp>

#include "config/schema.h"
#include "config/snapshot.h"
#include "quota/admission.h"
#include "quota/rules.h"

using namespace lingmo;

namespace {
// 2026-03-08 10:00:00 UTC: a Sunday, and the day LA springs forward (02:00 PST -> 03:00 PDT).
constexpr int64_t kNowS = 1772964000;

config::RuntimeProvider provider_with(const std::string& quotas_json, const std::string& extra = "") {
  std::string json = R"({"id":"p1","base_url":"https://x.example/v1","models":["m"],"quotas":)" + quotas_json + extra + "}";
  auto set = config::Snapshot::build_config(1, {{"p1", json}}, {}, nullptr);
  REQUIRE(set->providers.size() == 1);
  REQUIRE(set->providers[0].load_error.empty());
  return set->providers[0];
}
}  // namespace

TEST_CASE("quota specs parse metric, window, limit, zone and model", "[quota]") {
  auto r = quota::parse_rule_spec("requests/day=1500@America/Los_Angeles");
  REQUIRE(r);
  CHECK(r->metric == "requests");
  CHECK(r->window == quota::Window::kDay);
  CHECK(r->limit == 1500);
  CHECK(r->tz == "America/Los_Angeles");
  CHECK(r->model.empty());
  CHECK(r->describe() == "1500 requests/day (America/Los_Angeles)");

  auto t = quota::parse_rule_spec("total_tokens/oneoff=1000000:qwen-plus");
  REQUIRE(t);
  CHECK(t->window == quota::Window::kOneOff);
  CHECK(t->model == "qwen-plus");

  auto c = quota::parse_rule_spec("cost/oneoff=10.5");
  REQUIRE(c);
  CHECK(c->limit == 10'500'000);  // millionths
  CHECK(c->describe() == "10.5 cost/oneoff");
  CHECK(std::string(quota::counter_field("cost")) == "cost_micros");

  for (const char* bad : {"requests/day", "requests=5", "bogus/day=5", "requests/fortnight=5", "requests/day=0",
                          "requests/day=-3", "requests/day=1.5", "requests/day=abc"})
    CHECK_FALSE(quota::parse_rule_spec(bad));
}

TEST_CASE("windows: ids and bounds in the rule's zone", "[quota]") {
  auto la = quota::TimeZone::load("America/Los_Angeles");
  REQUIRE(la);
  quota::Rule day{"requests", quota::Window::kDay, 10, "America/Los_Angeles", ""};
  auto s = day.span(kNowS, *la.value());
  CHECK(s.id == "2026-03-08");                // 02:00 local, still the 8th
  CHECK(s.start_s == 1772956800);             // 2026-03-08 00:00 PST = 08:00 UTC
  CHECK(s.end_s == 1773039600);               // 2026-03-09 00:00 PDT = 07:00 UTC: a 23-hour day
  quota::Rule minute{"requests", quota::Window::kMinute, 10, "UTC", ""};
  auto m = minute.span(kNowS + 30, *quota::TimeZone::utc());
  CHECK(m.start_s == kNowS);
  CHECK(m.end_s == kNowS + 60);
  quota::Rule week{"requests", quota::Window::kWeek, 10, "UTC", ""};
  auto w = week.span(kNowS, *quota::TimeZone::utc());
  CHECK(w.id == "w2026-03-02");               // the Monday before
  CHECK(w.end_s - w.start_s == 7 * 86400);
  quota::Rule month{"requests", quota::Window::kMonth, 10, "Asia/Shanghai", ""};
  auto sh = quota::TimeZone::load("Asia/Shanghai");
  REQUIRE(sh);
  auto mo = month.span(kNowS, *sh.value());
  CHECK(mo.id == "2026-03");
  CHECK(mo.start_s == 1772294400);            // 2026-03-01 00:00 +08:00
  quota::Rule once{"requests", quota::Window::kOneOff, 10, "UTC", ""};
  CHECK(once.span(kNowS, *quota::TimeZone::utc()).id == "all");
}

TEST_CASE("cap keeps the threshold's margin", "[quota]") {
  CHECK(quota::cap(1500, 0.99) == 1485);
  CHECK(quota::cap(5, 0.99) == 4);
  CHECK(quota::cap(10, 1.0) == 10);
  CHECK(quota::cap(10, 0) == 10);    // nonsense thresholds mean "no margin"
  CHECK(quota::cap(10, 1.5) == 10);
}

TEST_CASE("plans cover the rules that apply to the model, with prices for cost rules", "[quota]") {
  auto p = provider_with(
      R"([{"metric":"requests","window":"minute","limit":15},
          {"metric":"total_tokens","window":"oneoff","limit":1000,"model":"other"},
          {"metric":"cost","window":"month","limit":10,"tz":"Asia/Shanghai"}])",
      R"(,"prices":{"input_per_mtok":2,"output_per_mtok":8},"threshold":0.5)");
  quota::Cost est = quota::estimate_chat(400, 50);
  CHECK(est.prompt_tokens == 100);
  CHECK(est.completion_tokens == 50);
  CHECK(est.total_tokens == 150);

  auto plan = quota::plan(p, "m", est, kNowS * 1000, 0.99);
  REQUIRE(plan.items.size() == 2);  // the "other" rule does not apply to model m
  CHECK(plan.items[0].key == "lingmo:quota:p1:0:m" + std::to_string(kNowS / 60));
  CHECK(plan.items[0].cap == 7);    // the provider's 0.5 overrides the global 0.99
  CHECK(plan.items[0].window_end_ms == (kNowS / 60 + 1) * 60 * 1000);
  CHECK(plan.items[1].metric == "cost_micros");
  CHECK(plan.items[1].cap == 5'000'000);
  CHECK(plan.estimate.cost_micros == 100 * 2 + 50 * 8);

  auto args = quota::admit_args(plan);
  REQUIRE(args.size() == 3 + 2 + 2 * 8);
  CHECK(args[2] == "2");
  CHECK(args[5] == "requests");
  CHECK(args[6] == "7");
  CHECK(args[11] == "600");  // cost estimate of the first item

  auto other = quota::plan(p, "other", est, kNowS * 1000, 0.99);
  CHECK(other.items.size() == 3);
  CHECK(other.items[1].ttl_s == 0);  // one-off grants never expire
}

TEST_CASE("corrections settle a reservation to the actual cost, or refund it", "[quota]") {
  quota::Cost est{1, 100, 50, 150, 0, 600};
  quota::Cost actual{1, 90, 10, 100, 0, 260};
  auto d = quota::correction(est, actual, true);
  CHECK(d.requests == 0);
  CHECK(d.prompt_tokens == -10);
  CHECK(d.completion_tokens == -40);
  CHECK(d.total_tokens == -50);
  CHECK(d.cost_micros == -340);
  auto refund = quota::correction(est, actual, false);
  CHECK(refund.requests == -1);
  CHECK(refund.total_tokens == -150);
  CHECK(refund.cost_micros == -600);
}

TEST_CASE("provider JSON keeps quotas, prices and threshold (cost limits in currency units)", "[quota][schema]") {
  auto p = provider_with(R"([{"metric":"cost","window":"oneoff","limit":10.5}])", R"(,"prices":{"input_per_mtok":1.5,"output_per_mtok":6})");
  auto back = schema::provider_from_json(schema::to_json(p.cfg));
  REQUIRE(back);
  REQUIRE(back->quotas.size() == 1);
  CHECK(back->quotas[0].limit == 10'500'000);
  CHECK(back->price_input == Approx(1.5));
  CHECK(back->price_output == Approx(6));
  CHECK(back->cost_micros(1'000'000, 0) == 1'500'000);
  CHECK_FALSE(schema::provider_from_json(R"({"id":"p","base_url":"https://x","quotas":[{"metric":"bogus","limit":1}]})"));
  CHECK_FALSE(schema::provider_from_json(R"({"id":"p","base_url":"https://x","quotas":[{"metric":"requests","window":"day","limit":0}]})"));
  CHECK_FALSE(schema::provider_from_json(R"({"id":"p","base_url":"https://x","threshold":1.5})"));
}

TEST_CASE("key budgets: caps are the limits, windows in the budget's zone, cost not estimated", "[quota]") {
  auto k = schema::gateway_key_from_json(
      "abcdef0123456789", R"({"id":"abcdef01","name":"k","budgets":[{"metric":"requests","window":"day","limit":100,"tz":"America/Los_Angeles"},)"
                          R"({"metric":"cost","window":"oneoff","limit":2.5}]})");
  REQUIRE(k);
  REQUIRE(k.value().budgets.size() == 2);
  quota::Cost est = quota::estimate_chat(400, 50);
  est.cost_micros = 999;
  quota::Plan p = quota::key_plan(k.value(), est, kNowS * 1000);
  REQUIRE(p.items.size() == 2);
  CHECK(p.items[0].key == "lingmo:keyquota:abcdef01:0:2026-03-08");
  CHECK(p.items[0].metric == "requests");
  CHECK(p.items[0].cap == 100);  // no switch threshold on a key
  CHECK(p.items[0].window_end_ms == 1773039600000);  // next LA midnight (PDT, UTC-7)
  CHECK(p.items[1].metric == "cost_micros");
  CHECK(p.items[1].cap == 2'500'000);
  CHECK(p.items[1].window_end_ms == 0);
  CHECK(p.items[1].ttl_s == 0);
  CHECK(p.estimate.cost_micros == 0);
  CHECK(p.estimate.total_tokens == est.total_tokens);

  // Round trip through the stored JSON keeps the budgets.
  auto again = schema::gateway_key_from_json("abcdef0123456789", schema::to_json(k.value()));
  REQUIRE(again);
  CHECK(again.value().budgets.size() == 2);
  CHECK(again.value().budgets[1].limit == 2'500'000);
  CHECK_FALSE(schema::gateway_key_from_json("ab", R"({"budgets":[{"metric":"x","limit":1}]})"));
  CHECK_FALSE(schema::gateway_key_from_json("ab", R"({"budgets":[{"metric":"requests","window":"day","limit":0}]})"));
}
