#include <catch2/catch.hpp>

#include <string>

#include "openai/request.h"
#include "test_support.h"

using lingmo::openai::ApiError;
using lingmo::openai::ChatRequest;
using lingmo::test::count_members;
using lingmo::test::parse_json;
namespace openai = lingmo::openai;

namespace {

const std::string kMessages = R"("messages":[{"role":"user","content":"hi"}])";

// A request body with the given fields after a valid model and messages.
std::string body_with(const std::string& fields) {
  return R"({"model":"gpt-4o",)" + kMessages + (fields.empty() ? "" : "," + fields) + "}";
}

ChatRequest parse_ok(const std::string& body) {
  ChatRequest req;
  ApiError err;
  INFO(body);
  REQUIRE(openai::parse_chat_request(body, req, err));
  return req;
}

rapidjson::Document upstream(const std::string& body, const std::string& model = "vendor-model") {
  ChatRequest req = parse_ok(body);
  rapidjson::Document d = parse_json(openai::build_upstream_body(req, model));
  REQUIRE(d.IsObject());
  return d;
}

}  // namespace

TEST_CASE("parse_chat_request rejects unusable bodies with a 400 naming the parameter", "[request]") {
  auto [body, param, message] = GENERATE(table<std::string, std::string, std::string>({
      {"{\"model\":", "", "could not parse the JSON body"},
      {"", "", "could not parse the JSON body"},
      {"[1,2]", "", "must be a JSON object"},
      {"\"text\"", "", "must be a JSON object"},
      {"{" + kMessages + "}", "model", "you must provide a model parameter"},
      {R"({"model":null,)" + kMessages + "}", "model", "you must provide a model parameter"},
      {R"({"model":"",)" + kMessages + "}", "model", "non-empty string"},
      {R"({"model":4,)" + kMessages + "}", "model", "non-empty string"},
      {R"({"model":"gpt-4o"})", "messages", "Missing required parameter"},
      {R"({"model":"gpt-4o","messages":[]})", "messages", "non-empty array"},
      {R"({"model":"gpt-4o","messages":{"role":"user"}})", "messages", "non-empty array"},
      {R"({"model":"gpt-4o","messages":[{"content":"hi"}]})", "messages", "string 'role'"},
      {R"({"model":"gpt-4o","messages":[{"role":"user"},{"role":7}]})", "messages", "string 'role'"},
      {R"({"model":"gpt-4o","messages":["hi"]})", "messages", "string 'role'"},
      {body_with(R"("stream":"true")"), "stream", "'stream' must be a boolean"},
      {body_with(R"("stream":1)"), "stream", "'stream' must be a boolean"},
      {body_with(R"("stream":true,"stream_options":true)"), "stream_options", "must be an object"},
      {body_with(R"("stream_options":["include_usage"])"), "stream_options", "must be an object"},
  }));
  CAPTURE(body);
  ChatRequest req;
  ApiError err;
  REQUIRE_FALSE(openai::parse_chat_request(body, req, err));
  CHECK(err.status == 400);
  CHECK(err.type == "invalid_request_error");
  CHECK(err.param == param);
  CHECK_THAT(err.message, Catch::Contains(message));
}

TEST_CASE("parse_chat_request flags a missing messages array with a code", "[request]") {
  ChatRequest req;
  ApiError err;
  REQUIRE_FALSE(openai::parse_chat_request(R"({"model":"m"})", req, err));
  CHECK(err.code == "missing_required_parameter");
}

TEST_CASE("parse_chat_request reads model, stream and include_usage", "[request]") {
  auto [fields, stream, wants_usage] = GENERATE(table<std::string, bool, bool>({
      {"", false, false},
      {R"("stream":false)", false, false},
      {R"("stream":null)", false, false},
      {R"("stream":true)", true, false},
      {R"("stream":true,"stream_options":null)", true, false},
      {R"("stream":true,"stream_options":{})", true, false},
      {R"("stream":true,"stream_options":{"include_usage":false})", true, false},
      {R"("stream":true,"stream_options":{"include_usage":"yes"})", true, false},
      {R"("stream":true,"stream_options":{"include_usage":true})", true, true},
  }));
  CAPTURE(fields);
  ChatRequest req = parse_ok(body_with(fields));
  CHECK(req.model == "gpt-4o");
  CHECK(req.stream == stream);
  CHECK(req.client_wants_usage == wants_usage);
}

TEST_CASE("build_upstream_body swaps in the vendor model and keeps other fields", "[request]") {
  const std::string tools = R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])";
  rapidjson::Document d = upstream(body_with(R"("temperature":0.25,"max_tokens":64,"tools":)" + tools));
  rapidjson::Document expected_tools = parse_json(tools);
  rapidjson::Document expected_messages = parse_json("{" + kMessages + "}");

  CHECK(std::string(d["model"].GetString()) == "vendor-model");
  CHECK(count_members(d, "model") == 1);
  CHECK(d["temperature"].GetDouble() == Approx(0.25));
  CHECK(d["max_tokens"].GetInt() == 64);
  CHECK(d["tools"] == expected_tools);
  CHECK(d["messages"] == expected_messages["messages"]);
}

TEST_CASE("build_upstream_body removes fields that would redirect the request", "[request]") {
  rapidjson::Document d = upstream(body_with(
      R"("api_base":"https://evil.example","base_url":"https://evil.example","api_key":"sk-x",)"
      R"("api_version":"2024-01-01","custom_llm_provider":"azure","user":"u1")"));
  for (const char* f : {"api_base", "base_url", "api_key", "api_version", "custom_llm_provider"}) {
    CAPTURE(f);
    CHECK(count_members(d, f) == 0);
  }
  CHECK(std::string(d["user"].GetString()) == "u1");
}

TEST_CASE("build_upstream_body forces include_usage on for streams", "[request]") {
  auto fields = GENERATE(as<std::string>{},
                         R"("stream":true)",
                         R"("stream":true,"stream_options":null)",
                         R"("stream":true,"stream_options":{})",
                         R"("stream":true,"stream_options":{"include_usage":false})",
                         R"("stream":true,"stream_options":{"include_usage":true})");
  CAPTURE(fields);
  rapidjson::Document d = upstream(body_with(fields));
  REQUIRE(count_members(d, "stream_options") == 1);
  REQUIRE(d["stream_options"].IsObject());
  CHECK(count_members(d["stream_options"], "include_usage") == 1);
  CHECK(d["stream_options"]["include_usage"] == true);
  CHECK(d["stream"] == true);
}

TEST_CASE("build_upstream_body keeps the client's other stream_options", "[request]") {
  rapidjson::Document d =
      upstream(body_with(R"("stream":true,"stream_options":{"include_usage":false,"continuous_usage_stats":true})"));
  CHECK(d["stream_options"]["include_usage"] == true);
  CHECK(d["stream_options"]["continuous_usage_stats"] == true);
}

TEST_CASE("build_upstream_body leaves non-stream bodies without stream_options", "[request]") {
  CHECK_FALSE(upstream(body_with("")).HasMember("stream_options"));
  CHECK_FALSE(upstream(body_with(R"("stream":false)")).HasMember("stream_options"));
}

TEST_CASE("build_upstream_body does not change the parsed request (one body per attempt)", "[request]") {
  ChatRequest req = parse_ok(body_with(R"("stream":true,"api_key":"sk-x")"));
  auto first = parse_json(openai::build_upstream_body(req, "vendor-a"));
  auto second = parse_json(openai::build_upstream_body(req, "vendor-b"));
  CHECK(std::string(first["model"].GetString()) == "vendor-a");
  CHECK(std::string(second["model"].GetString()) == "vendor-b");
  CHECK(std::string(req.doc["model"].GetString()) == "gpt-4o");
  CHECK(req.doc.HasMember("api_key"));
  CHECK_FALSE(req.doc.HasMember("stream_options"));
}

// JSON allows a repeated key, and many vendors' parsers keep the last one while the gateway reads
// the first: the upstream body must carry exactly the values the gateway validated and routed on.
TEST_CASE("build_upstream_body collapses repeated keys to what the gateway used", "[request]") {
  SECTION("model: the key's allowlist saw the first one") {
    rapidjson::Document d = upstream(R"({"model":"gpt-4o",)" + kMessages + R"(,"model":"o1-pro"})");
    CHECK(count_members(d, "model") == 1);
    CHECK(std::string(d["model"].GetString()) == "vendor-model");
  }
  SECTION("routing fields are removed however often they appear") {
    rapidjson::Document d = upstream(body_with(R"("api_base":"https://a","api_base":"https://b","api_key":"1","api_key":"2")"));
    CHECK(count_members(d, "api_base") == 0);
    CHECK(count_members(d, "api_key") == 0);
  }
  SECTION("stream: the gateway relays what it parsed") {
    rapidjson::Document d = upstream(body_with(R"("stream":false,"stream":true)"));
    CHECK(count_members(d, "stream") == 1);
    CHECK(d["stream"] == false);
  }
  SECTION("stream_options: first null, then a non-object") {
    rapidjson::Document d = upstream(body_with(R"("stream":true,"stream_options":null,"stream_options":5)"));
    REQUIRE(count_members(d, "stream_options") == 1);
    REQUIRE(d["stream_options"].IsObject());
    CHECK(d["stream_options"]["include_usage"] == true);
  }
  SECTION("include_usage repeated inside stream_options") {
    rapidjson::Document d =
        upstream(body_with(R"("stream":true,"stream_options":{"include_usage":false,"include_usage":false})"));
    CHECK(count_members(d["stream_options"], "include_usage") == 1);
    CHECK(d["stream_options"]["include_usage"] == true);
  }
}
