// Vendor templates (shared/vendors/templates.json) and the parameter quirks they carry.
#include <catch2/catch.hpp>

#include "openai/request.h"
#include "quota/rules.h"
#include "test_support.h"
#include "vendors/templates.h"

using namespace lingmo;

TEST_CASE("the built-in table has the 25+ vendors the brief names, each usable or explained", "[templates]") {
  const auto& table = vendors::TemplateTable::builtin();
  CHECK(table.all().size() >= 25);
  for (const char* id : {"openai", "anthropic", "gemini", "gemini-openai", "deepseek", "zhipu", "dashscope", "qianfan",
                         "moonshot", "minimax", "ark", "hunyuan", "spark", "stepfun", "lingyiwanwu", "baichuan",
                         "siliconflow", "openrouter", "groq", "mistral", "cerebras", "github-models", "cloudflare",
                         "together", "xai", "ollama"}) {
    CAPTURE(id);
    const vendors::Template* t = table.find(id);
    REQUIRE(t);
    CHECK_FALSE(t->models.empty());
    CHECK_FALSE(t->base_url.empty());
    for (const auto& q : t->free_tier_quotas) CHECK(quota::parse_rule_spec(q));
  }
  CHECK(table.find("deepseek")->base_url == "https://api.deepseek.com/v1");
  CHECK(table.find("anthropic")->dialect == "anthropic");
  CHECK(table.find("ollama")->auth == "none");
}

TEST_CASE("apply prefills a provider and keeps what the user set", "[templates]") {
  const vendors::Template* groq = vendors::TemplateTable::builtin().find("groq");
  REQUIRE(groq);
  config::Provider p;
  p.id = "g1";
  auto filled = vendors::apply(*groq, p, true);
  REQUIRE(filled);
  CHECK(filled->vendor == "groq");
  CHECK(filled->base_url == groq->base_url);
  CHECK(filled->models.size() == groq->models.size());
  CHECK(filled->quotas.size() == groq->free_tier_quotas.size());
  CHECK_FALSE(filled->quotas.empty());

  p.base_url = "http://127.0.0.1:9/v1";
  p.models = {{"mine", "x"}};
  auto kept = vendors::apply(*groq, p, false);
  REQUIRE(kept);
  CHECK(kept->base_url == "http://127.0.0.1:9/v1");
  CHECK(kept->models.size() == 1);
  CHECK(kept->quotas.empty());

  config::Provider fresh;
  fresh.id = "claude";
  auto anthropic = vendors::apply(*vendors::TemplateTable::builtin().find("anthropic"), fresh, false);
  REQUIRE(anthropic);
  CHECK(anthropic->dialect == "anthropic");
  CHECK(anthropic->base_url == "https://api.anthropic.com/v1");
  auto deepseek = vendors::apply(*vendors::TemplateTable::builtin().find("deepseek"), fresh, false);
  REQUIRE(deepseek);
  CHECK(deepseek->max_output_tokens == 8192);  // quirks carry the output ceiling and reasoning replay
  CHECK(deepseek->replay_reasoning);
  config::Provider cf;
  cf.id = "cf";
  CHECK_FALSE(vendors::apply(*vendors::TemplateTable::builtin().find("cloudflare"), cf, false));  // {account_id}
}

TEST_CASE("template table parsing rejects broken data", "[templates]") {
  CHECK_FALSE(vendors::TemplateTable::parse("[]"));
  CHECK_FALSE(vendors::TemplateTable::parse(R"({"templates":[{"name":"no id"}]})"));
  CHECK_FALSE(vendors::TemplateTable::parse(R"({"templates":[{"id":"a"},{"id":"a"}]})"));
  CHECK_FALSE(vendors::TemplateTable::parse(R"({"templates":[{"id":"a","dialect":"klingon"}]})"));
  CHECK_FALSE(vendors::TemplateTable::parse(R"({"templates":[{"id":"a","free_tier":{"quotas":["bogus"]}}]})"));
  auto ok = vendors::TemplateTable::parse(R"({"templates":[{"id":"a","quirks":{"drop_params":["logprobs"],"rename_params":{"max_tokens":"max_completion_tokens"}}}]})");
  REQUIRE(ok);
  CHECK(ok->find("a")->drop_params == std::vector<std::string>{"logprobs"});
}

TEST_CASE("parameter quirks: dropped and renamed fields in the vendor body", "[templates][request]") {
  openai::ChatRequest req;
  openai::ApiError err;
  REQUIRE(openai::parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"max_tokens":5,"temperature":0.2})", req, err));
  auto body = test::parse_json(openai::build_upstream_body(req, "up", {"logprobs", "model", "messages"},
                                                      {{"max_tokens", "max_completion_tokens"}, {"temperature", "model"}}));
  CHECK_FALSE(body.HasMember("logprobs"));
  CHECK_FALSE(body.HasMember("max_tokens"));
  CHECK(body["max_completion_tokens"].GetInt() == 5);
  CHECK(body["model"] == "up");                 // never dropped or overwritten
  CHECK(body.HasMember("messages"));
  CHECK(body["temperature"].GetDouble() == Approx(0.2));  // a rename onto an existing field is skipped
}
