#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "config/snapshot.h"
#include "crypto/crypto.h"
#include "test_support.h"

using lingmo::config::ConfigSet;
using lingmo::config::RawHash;
using lingmo::config::RuntimeProvider;
using lingmo::config::Snapshot;
using lingmo::crypto::SecretKey;
using lingmo::test::provider_json;

namespace {

std::string sealed_provider(const std::string& id, const SecretKey& key, const std::string& api_key,
                            const std::string& aad = {}) {
  return provider_json(id, R"(["m1"])",
                       R"("api_key_sealed":)" + lingmo::json::quote(key.encrypt(api_key, aad.empty() ? id : aad)));
}

const RuntimeProvider& by_id(const ConfigSet& set, const std::string& id) {
  auto it = std::find_if(set.providers.begin(), set.providers.end(), [&](const auto& p) { return p.cfg.id == id; });
  INFO("provider " << id);
  REQUIRE(it != set.providers.end());
  return *it;
}

std::vector<std::string> ids(const ConfigSet& set) {
  std::vector<std::string> out;
  for (const auto& p : set.providers) out.push_back(p.cfg.id);
  return out;
}

bool any_warning_contains(const ConfigSet& set, const std::string& needle) {
  for (const auto& w : set.warnings)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("build_config sorts providers by priority, then id", "[snapshot]") {
  RawHash providers = {
      {"b", provider_json("b", R"(["m1"])", R"("priority":10)")},
      {"d", provider_json("d")},  // default priority 100
      {"a", provider_json("a", R"(["m1"])", R"("priority":10)")},
      {"c", provider_json("c", R"(["m1"])", R"("priority":5)")},
  };
  auto set = Snapshot::build_config(42, providers, {}, nullptr);
  CHECK(set->version == 42);
  CHECK(ids(*set) == std::vector<std::string>{"c", "a", "b", "d"});
  CHECK(set->warnings.empty());
}

TEST_CASE("build_config decrypts sealed API keys with the secret", "[snapshot]") {
  SecretKey secret = SecretKey::generate(), other = SecretKey::generate();
  RawHash providers = {
      {"good", sealed_provider("good", secret, "sk-good")},
      {"foreign", sealed_provider("foreign", other, "sk-foreign")},
      {"moved", sealed_provider("moved", secret, "sk-moved", "another-id")},  // sealed for another provider id
      {"keyless", provider_json("keyless")},
  };
  auto set = Snapshot::build_config(1, providers, {}, &secret);
  REQUIRE(set->providers.size() == 4);

  CHECK(by_id(*set, "good").api_key == "sk-good");
  CHECK(by_id(*set, "good").load_error.empty());
  CHECK(by_id(*set, "keyless").load_error.empty());
  CHECK(by_id(*set, "keyless").api_key.empty());

  const auto& foreign = by_id(*set, "foreign");
  CHECK(foreign.api_key.empty());
  CHECK_THAT(foreign.load_error, Catch::Contains("cannot be decrypted") && Catch::Contains("another secret key"));
  CHECK_THAT(by_id(*set, "moved").load_error, Catch::Contains("authentication failed"));
  CHECK(any_warning_contains(*set, "provider \"foreign\" unusable"));
  CHECK(any_warning_contains(*set, "provider \"moved\" unusable"));
  for (const auto& w : set->warnings) CHECK_THAT(w, !Catch::Contains("sk-"));
}

TEST_CASE("build_config without a secret: sealed keys are unusable, key-less providers work", "[snapshot]") {
  SecretKey secret = SecretKey::generate();
  RawHash providers = {
      {"sealed", sealed_provider("sealed", secret, "sk-x")},
      {"ollama", provider_json("ollama")},
  };
  auto set = Snapshot::build_config(1, providers, {}, nullptr);
  REQUIRE(set->providers.size() == 2);
  CHECK_THAT(by_id(*set, "sealed").load_error, Catch::Contains("no secret key configured"));
  CHECK(by_id(*set, "sealed").api_key.empty());
  CHECK(by_id(*set, "ollama").load_error.empty());
  REQUIRE(set->warnings.size() == 1);
  CHECK_THAT(set->warnings[0], Catch::Contains("sealed"));
}

TEST_CASE("build_config skips invalid provider JSON with a warning", "[snapshot]") {
  RawHash providers = {
      {"broken", "{not json"},
      {"bad-url", R"({"id":"bad-url","base_url":"ftp://x"})"},
      {"ok", provider_json("ok")},
  };
  auto set = Snapshot::build_config(1, providers, {}, nullptr);
  CHECK(ids(*set) == std::vector<std::string>{"ok"});
  REQUIRE(set->warnings.size() == 2);
  CHECK(any_warning_contains(*set, "provider \"broken\" ignored"));
  CHECK(any_warning_contains(*set, "provider \"bad-url\" ignored: provider bad-url: base_url"));
}

TEST_CASE("find_key looks a bearer secret up by its SHA-256", "[snapshot]") {
  const std::string secret = "sk-lingmo-0123456789abcdef";
  const std::string hash = lingmo::crypto::sha256_hex(secret);
  RawHash keys = {
      {hash, R"({"id":"k1","name":"team","models":["auto"]})"},
      {std::string(64, '0'), "not json"},
  };
  Snapshot snap(Snapshot::build_config(1, {}, keys, nullptr), {});

  const auto* k = snap.find_key(secret);
  REQUIRE(k != nullptr);
  CHECK(k->id == "k1");
  CHECK(k->hash == hash);
  CHECK(k->models == std::vector<std::string>{"auto"});

  CHECK(snap.find_key(hash) == nullptr);  // the stored hash is not a credential
  CHECK(snap.find_key("sk-lingmo-wrong") == nullptr);
  CHECK(snap.find_key("") == nullptr);
  CHECK(snap.config().keys_by_hash.size() == 1);
  CHECK(any_warning_contains(snap.config(), "gateway key 00000000 ignored"));
}

TEST_CASE("parse_states keeps valid states and drops invalid JSON", "[snapshot]") {
  RawHash raw = {
      {"p1", R"({"unusable_until_ms":1700000000000,"reason":"insufficient_quota"})"},
      {"p2", "garbage"},
      {"p3", "{}"},
  };
  auto states = Snapshot::parse_states(raw);
  REQUIRE(states.size() == 2);
  CHECK(states.at("p1").unusable_until_ms == 1700000000000);
  CHECK(states.at("p1").reason == "insufficient_quota");
  CHECK(states.at("p3").unusable_until_ms == 0);

  Snapshot snap(Snapshot::build_config(1, {}, {}, nullptr), states);
  REQUIRE(snap.state("p1") != nullptr);
  CHECK(snap.state("p1")->reason == "insufficient_quota");
  CHECK(snap.state("p2") == nullptr);
}
