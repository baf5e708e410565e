#include <catch2/catch.hpp>

#include <string>

#include "config/schema.h"
#include "test_support.h"

namespace schema = lingmo::schema;
using lingmo::config::GatewayKey;
using lingmo::config::ModelMapping;
using lingmo::config::Provider;
using lingmo::config::ProviderState;
using lingmo::test::provider_json;

namespace {

Provider full_provider() {
  Provider p;
  p.id = "deepseek-main";
  p.name = "DeepSeek \"main\"";
  p.vendor = "deepseek";
  p.base_url = "https://api.deepseek.com/v1";
  p.api_key_sealed = "lmk1:abcd1234:AAAA";
  p.proxy = "socks5h://127.0.0.1:1080";
  p.priority = 7;
  p.enabled = false;
  p.models = {{"deepseek-chat", "deepseek-chat"}, {"gpt-4o", "deepseek-reasoner"}};
  p.headers = {{"X-Org", "lingmo"}, {"X-Quote", "a\"b\\c"}};
  p.dialect = "gemini";
  p.max_output_tokens = 8192;
  p.replay_reasoning = true;
  p.responses_api = true;
  return p;
}

void check_same(const Provider& a, const Provider& b) {
  CHECK(a.id == b.id);
  CHECK(a.name == b.name);
  CHECK(a.vendor == b.vendor);
  CHECK(a.dialect == b.dialect);
  CHECK(a.base_url == b.base_url);
  CHECK(a.api_key_sealed == b.api_key_sealed);
  CHECK(a.proxy == b.proxy);
  CHECK(a.priority == b.priority);
  CHECK(a.enabled == b.enabled);
  REQUIRE(a.models.size() == b.models.size());
  for (size_t i = 0; i < a.models.size(); ++i) {
    CHECK(a.models[i].name == b.models[i].name);
    CHECK(a.models[i].upstream == b.models[i].upstream);
  }
  CHECK(a.headers == b.headers);
  CHECK(a.max_output_tokens == b.max_output_tokens);
  CHECK(a.replay_reasoning == b.replay_reasoning);
  CHECK(a.responses_api == b.responses_api);
}

Provider parse_ok(const std::string& json) {
  auto p = schema::provider_from_json(json);
  INFO(json << " -> " << (p.ok() ? "ok" : p.error()));
  REQUIRE(p.ok());
  return p.value();
}

std::string parse_error(const std::string& json) {
  auto p = schema::provider_from_json(json);
  INFO(json);
  REQUIRE_FALSE(p.ok());
  return p.error();
}

}  // namespace

TEST_CASE("provider JSON round trip keeps every field", "[schema]") {
  Provider p = full_provider();
  check_same(parse_ok(schema::to_json(p)), p);
}

TEST_CASE("provider defaults: name is the id, openai dialect, priority 100, enabled", "[schema]") {
  Provider p = parse_ok(provider_json("p1"));
  CHECK(p.name == "p1");
  CHECK(p.dialect == "openai");
  CHECK(p.priority == 100);
  CHECK(p.enabled);
  CHECK(p.api_key_sealed.empty());
  CHECK(p.proxy.empty());
  CHECK(p.headers.empty());
}

TEST_CASE("provider models: string shorthand and object forms", "[schema]") {
  Provider p = parse_ok(provider_json("p1", R"(["a", {"name":"b","upstream":"vendor-b"}, {"name":"c"}, {"name":"d","upstream":""}])"));
  REQUIRE(p.models.size() == 4);
  CHECK((p.models[0].name == "a" && p.models[0].upstream == "a"));
  CHECK((p.models[1].name == "b" && p.models[1].upstream == "vendor-b"));
  CHECK((p.models[2].name == "c" && p.models[2].upstream == "c"));
  CHECK((p.models[3].name == "d" && p.models[3].upstream == "d"));

  CHECK_THAT(parse_error(provider_json("p1", R"([{"upstream":"x"}])")), Catch::Contains("a model has no name"));
}

TEST_CASE("provider base_url loses its trailing slashes", "[schema]") {
  Provider p = parse_ok(R"({"id":"p1","base_url":"https://api.example.com/v1///"})");
  CHECK(p.base_url == "https://api.example.com/v1");
  CHECK(parse_ok(R"({"id":"p1","base_url":"http://localhost:11434/v1/"})").base_url == "http://localhost:11434/v1");
}

TEST_CASE("provider validation failures", "[schema]") {
  SECTION("not a JSON object") {
    CHECK_THAT(parse_error("[1,2]"), Catch::Contains("not a JSON object"));
    CHECK_THAT(parse_error("{\"id\":"), Catch::Contains("not a JSON object"));
  }
  SECTION("bad id") {
    auto id = GENERATE(as<std::string>{}, "", "has space", "a/b", "p\"1", std::string(65, 'a'));
    CHECK_THAT(parse_error(R"({"id":)" + lingmo::json::quote(id) + R"(,"base_url":"https://x"})"),
               Catch::Contains("is invalid"));
  }
  SECTION("missing id") { CHECK_THAT(parse_error(R"({"base_url":"https://x"})"), Catch::Contains("is invalid")); }
  SECTION("bad base_url scheme") {
    auto url = GENERATE(as<std::string>{}, "ftp://api.example.com", "api.example.com/v1", "", "https:/x", "http://");
    CHECK_THAT(parse_error(R"({"id":"p1","base_url":)" + lingmo::json::quote(url) + "}"),
               Catch::Contains("base_url must start with http:// or https://"));
  }
  SECTION("bad proxy scheme") {
    CHECK_THAT(parse_error(provider_json("p1", R"(["m"])", R"("proxy":"ftp://proxy:21")")),
               Catch::Contains("proxy must be"));
  }
  SECTION("unknown dialect") {
    CHECK_THAT(parse_error(provider_json("p1", R"(["m"])", R"("dialect":"cohere")")),
               Catch::Contains("dialect \"cohere\" is unknown"));
  }
}

TEST_CASE("provider proxy accepts every supported scheme", "[schema]") {
  auto proxy = GENERATE(as<std::string>{}, "http://p:3128", "https://p:3129", "socks4://p:1080", "socks5://p:1080",
                        "socks5h://p:1080");
  CHECK(parse_ok(provider_json("p1", R"(["m"])", R"("proxy":)" + lingmo::json::quote(proxy))).proxy == proxy);
}

TEST_CASE("valid_id allows 1-64 of [A-Za-z0-9_.-]", "[schema]") {
  CHECK(schema::valid_id("a"));
  CHECK(schema::valid_id("Deep_Seek-1.5"));
  CHECK(schema::valid_id(std::string(64, 'x')));
  CHECK_FALSE(schema::valid_id(""));
  CHECK_FALSE(schema::valid_id(std::string(65, 'x')));
  CHECK_FALSE(schema::valid_id("a b"));
  CHECK_FALSE(schema::valid_id("a:b"));
  CHECK_FALSE(schema::valid_id("\xc3\xa9"));
}

TEST_CASE("gateway key JSON round trip", "[schema]") {
  GatewayKey k;
  k.hash = std::string(64, 'f');
  k.id = "key-1";
  k.name = "team \"a\"";
  k.models = {"auto", "gpt-4o"};
  k.enabled = false;

  auto back = schema::gateway_key_from_json(k.hash, schema::to_json(k));
  REQUIRE(back.ok());
  CHECK(back->hash == k.hash);
  CHECK(back->id == k.id);
  CHECK(back->name == k.name);
  CHECK(back->models == k.models);
  CHECK(back->enabled == k.enabled);
}

TEST_CASE("gateway key defaults: id from the hash, enabled, all models", "[schema]") {
  auto k = schema::gateway_key_from_json("0123456789abcdef", "{}");
  REQUIRE(k.ok());
  CHECK(k->hash == "0123456789abcdef");
  CHECK(k->id == "01234567");
  CHECK(k->enabled);
  CHECK(k->models.empty());
  CHECK_FALSE(schema::gateway_key_from_json("h", "\"str\"").ok());
}

TEST_CASE("provider state JSON round trip", "[schema]") {
  ProviderState s{1700000000123, "insufficient_quota", "quota", "0123456789abcdef"};
  auto back = schema::state_from_json(schema::to_json(s));
  REQUIRE(back.ok());
  CHECK(back->unusable_until_ms == 1700000000123);
  CHECK(back->reason == "insufficient_quota");
  CHECK(back->kind == "quota");
  CHECK(back->fingerprint == "0123456789abcdef");

  auto empty = schema::state_from_json("{}");
  REQUIRE(empty.ok());
  CHECK(empty->unusable_until_ms == 0);
  CHECK(empty->reason.empty());
  CHECK_FALSE(schema::state_from_json("nope").ok());
}

TEST_CASE("usage key names", "[schema]") {
  CHECK(schema::usage_key("deepseek", "2024-05-01") == "lingmo:usage:deepseek:2024-05-01");
  CHECK(schema::usage_batch_key("w1-42") == "lingmo:usage:batch:w1-42");
}

TEST_CASE("settings: defaults, valid values, and bad values ignored with a warning", "[schema]") {
  std::vector<std::string> w;
  auto d = schema::settings_from_hash({}, &w);
  CHECK(d.threshold == Approx(0.99));
  CHECK(d.auto_switch);
  CHECK(d.pin.empty());
  CHECK(d.warn_levels == std::vector<double>{0.8, 0.95});
  CHECK(w.empty());

  auto s = schema::settings_from_hash({{"threshold", "0.9"}, {"auto_switch", "0"}, {"pin", "p1"}, {"warn_levels", "0.95,0.5"}}, &w);
  CHECK(s.threshold == Approx(0.9));
  CHECK_FALSE(s.auto_switch);
  CHECK(s.pin == "p1");
  CHECK(s.warn_levels == std::vector<double>{0.5, 0.95});
  CHECK(w.empty());

  auto bad = schema::settings_from_hash({{"threshold", "1.5"}, {"warn_levels", "0.8,,x"}}, &w);
  CHECK(bad.threshold == Approx(0.99));
  CHECK(bad.warn_levels == std::vector<double>{0.8, 0.95});
  CHECK(w.size() == 2);
}
