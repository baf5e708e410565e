#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/snapshot.h"
#include "routing/router.h"
#include "test_support.h"

using lingmo::config::GatewayKey;
using lingmo::config::ProviderState;
using lingmo::config::RawHash;
using lingmo::config::Snapshot;
using lingmo::routing::Route;
using lingmo::test::provider_json;
namespace routing = lingmo::routing;

namespace {

constexpr int64_t kNow = 1700000000000;

// alpha (priority 1), beta (2) and gamma (3) all serve "gpt-4o" under different vendor names;
// each has a different default (first) model.
RawHash three_providers() {
  return {
      {"alpha", provider_json("alpha", R"([{"name":"gpt-4o","upstream":"alpha-4o"},"shared"])", R"("priority":1)")},
      {"beta", provider_json("beta", R"([{"name":"gpt-4o","upstream":"beta-gpt4o"},"beta-only"])", R"("priority":2)")},
      {"gamma", provider_json("gamma", R"(["gamma-default",{"name":"gpt-4o","upstream":"g-4o"}])", R"("priority":3)")},
  };
}

Snapshot make_snapshot(RawHash providers, std::map<std::string, ProviderState> states = {}) {
  return Snapshot(Snapshot::build_config(1, providers, {}, nullptr), std::move(states));
}

GatewayKey key_for(std::vector<std::string> models = {}) {
  GatewayKey k;
  k.id = "k1";
  k.models = std::move(models);
  return k;
}

// "provider=upstream" per candidate, in order.
std::vector<std::string> candidates(const Route& r) {
  std::vector<std::string> out;
  for (const auto& c : r.candidates) out.push_back(c.provider->cfg.id + "=" + c.upstream_model);
  return out;
}

std::vector<std::string> skipped_ids(const Route& r) {
  std::vector<std::string> out;
  for (const auto& s : r.skipped) out.push_back(s.provider_id);
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("route lists candidates in priority order with the vendor's model name", "[router]") {
  Snapshot snap = make_snapshot(three_providers());
  Route r = routing::route(snap, "gpt-4o", key_for(), kNow);
  CHECK(r.model_allowed);
  CHECK(r.model_known);
  CHECK(candidates(r) == Names{"alpha=alpha-4o", "beta=beta-gpt4o", "gamma=g-4o"});
  CHECK(r.skipped.empty());
  REQUIRE_FALSE(r.candidates.empty());
  CHECK(r.candidates[0].provider == &snap.providers()[0]);  // points into the snapshot

  CHECK(candidates(routing::route(snap, "shared", key_for(), kNow)) == Names{"alpha=shared"});
}

TEST_CASE("route skips disabled, parked and unloadable providers with reasons", "[router]") {
  RawHash raw = three_providers();
  raw["beta"] = provider_json("beta", R"(["gpt-4o"])", R"("priority":2,"enabled":false)");
  raw["delta"] = provider_json("delta", R"(["gpt-4o"])", R"("priority":4,"api_key_sealed":"lmk1:00000000:AAAA")");
  std::map<std::string, ProviderState> states = {
      {"alpha", {kNow + 60000, "insufficient_quota", "quota", ""}},
      {"gamma", {kNow - 1, "rate limited earlier", "rate_limited", ""}},  // parked in the past: usable again
  };
  Snapshot snap = make_snapshot(raw, states);
  Route r = routing::route(snap, "gpt-4o", key_for(), kNow);

  CHECK(r.model_known);
  CHECK(candidates(r) == Names{"gamma=g-4o"});
  REQUIRE(skipped_ids(r) == Names{"alpha", "beta", "delta"});
  CHECK(r.skipped[0].reason == "parked (quota) for 60 s: insufficient_quota");
  CHECK(r.skipped[0].code == "parked:quota");
  CHECK(r.skipped[1].reason == "disabled");
  CHECK(r.skipped[1].code == "disabled");
  CHECK_THAT(r.skipped[2].reason, Catch::Contains("no secret key configured"));
  CHECK(r.skipped[2].code == "key_error");
}

TEST_CASE("route: parked until unusable_until, usable from that instant", "[router]") {
  Snapshot snap = make_snapshot(three_providers(), {{"alpha", {kNow + 1, "", "", ""}}});
  Route r = routing::route(snap, "shared", key_for(), kNow);
  CHECK(r.model_known);
  CHECK(r.candidates.empty());
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].reason == "parked (admin) for 1 s");  // no kind -> admin, no reason -> no colon

  CHECK(candidates(routing::route(snap, "shared", key_for(), kNow + 1)) == Names{"alpha=shared"});
}

TEST_CASE("route \"auto\" picks each provider's first model", "[router]") {
  RawHash raw = three_providers();
  raw["empty"] = provider_json("empty", "[]", R"("priority":0)");  // no models: not an auto candidate
  Snapshot snap = make_snapshot(raw);
  Route r = routing::route(snap, "auto", key_for(), kNow);
  CHECK(r.model_known);
  CHECK(candidates(r) == Names{"alpha=alpha-4o", "beta=beta-gpt4o", "gamma=gamma-default"});
}

TEST_CASE("route applies the key's model allowlist", "[router]") {
  Snapshot snap = make_snapshot(three_providers());

  SECTION("a model outside the list is not allowed") {
    Route r = routing::route(snap, "gpt-4o", key_for({"shared"}), kNow);
    CHECK_FALSE(r.model_allowed);
    CHECK(r.candidates.empty());
    CHECK(r.skipped.empty());
  }
  SECTION("a listed model routes normally") {
    Route r = routing::route(snap, "shared", key_for({"shared"}), kNow);
    CHECK(r.model_allowed);
    CHECK(candidates(r) == Names{"alpha=shared"});
  }
  SECTION("\"auto\" must itself be listed") {
    CHECK_FALSE(routing::route(snap, "auto", key_for({"gpt-4o"}), kNow).model_allowed);
  }
  SECTION("with \"auto\" the list filters the concrete default models") {
    Route r = routing::route(snap, "auto", key_for({"auto", "gpt-4o"}), kNow);
    CHECK(r.model_allowed);
    CHECK(candidates(r) == Names{"alpha=alpha-4o", "beta=beta-gpt4o"});  // gamma's default is gamma-default
    CHECK(r.skipped.empty());
  }
  SECTION("\"auto\" where no default model is allowed is unknown") {
    Route r = routing::route(snap, "auto", key_for({"auto"}), kNow);
    CHECK(r.model_allowed);
    CHECK_FALSE(r.model_known);
    CHECK(r.candidates.empty());
  }
}

TEST_CASE("route: a model no provider serves is unknown", "[router]") {
  Route r = routing::route(make_snapshot(three_providers()), "claude-3", key_for(), kNow);
  CHECK(r.model_allowed);
  CHECK_FALSE(r.model_known);
  CHECK(r.candidates.empty());
  CHECK(r.skipped.empty());
}

TEST_CASE("list_models dedups, puts auto first and respects the allowlist", "[router]") {
  Snapshot snap = make_snapshot(three_providers());
  CHECK(routing::list_models(snap, key_for()) == Names{"auto", "gpt-4o", "shared", "beta-only", "gamma-default"});
  CHECK(routing::list_models(snap, key_for({"shared", "gamma-default", "nope"})) == Names{"shared", "gamma-default"});
  CHECK(routing::list_models(snap, key_for({"auto", "beta-only"})) == Names{"auto", "beta-only"});
  CHECK(routing::list_models(snap, key_for({"auto"})).empty());
  CHECK(routing::list_models(make_snapshot({}), key_for()).empty());
}

TEST_CASE("list_models skips disabled providers", "[router]") {
  RawHash raw = three_providers();
  raw["beta"] = provider_json("beta", R"(["gpt-4o","beta-only"])", R"("priority":2,"enabled":false)");
  CHECK(routing::list_models(make_snapshot(raw), key_for()) == Names{"auto", "gpt-4o", "shared", "gamma-default"});
}

TEST_CASE("key_allows: an empty allowlist allows everything", "[router]") {
  CHECK(routing::key_allows(key_for(), "anything"));
  CHECK(routing::key_allows(key_for({"a", "b"}), "b"));
  CHECK_FALSE(routing::key_allows(key_for({"a", "b"}), "c"));
  CHECK_FALSE(routing::key_allows(key_for({"a"}), "A"));
}
