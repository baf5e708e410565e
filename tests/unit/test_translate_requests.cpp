// Request translation, fixture-driven (tests/fixtures/translate/requests/: bodies as Claude Code,
// Codex, OpenClaw, Qwen Code and the SDKs send them): every request is turned into every vendor
// dialect, and what a vendor of that dialect requires (and refuses) is checked on the result.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <cctype>
#include <functional>
#include <sstream>

#include "translate/hub.h"
#include "translate/jsonv.h"
#include "sse/framer.h"
#include "translate/translator.h"

using namespace lingmo;
using namespace lingmo::translate;
namespace fs = std::filesystem;

namespace {

std::string fixture(const char* name) {
  std::ifstream f(fs::path(LINGMO_FIXTURES_DIR) / "translate" / "requests" / name, std::ios::binary);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::unique_ptr<ClientRequest> parsed(ClientApi api, const std::string& body) {
  auto req = std::make_unique<ClientRequest>();
  ApiError err;
  INFO(err.message);
  REQUIRE(parse_client_request(api, body, *req, err));
  return req;
}

struct Built {
  VendorRequest vr;
  rapidjson::Document body;
};

Built build(const ClientRequest& req, config::Provider& p, const char* dialect, std::string model = "vendor-model") {
  p.dialect = dialect;
  Translator t(req, parse_dialect(dialect).value(), 0);
  Built b{t.request({&p, std::move(model)}), {}};
  b.body.Parse(b.vr.body.data(), b.vr.body.size());
  REQUIRE_FALSE(b.body.HasParseError());
  return b;
}

// True if any object in `v` (recursively) has a member named `key`.
bool has_key_anywhere(const rapidjson::Value& v, std::string_view key) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == key) return true;
      if (has_key_anywhere(m.value, key)) return true;
    }
  } else if (v.IsArray()) {
    for (const auto& x : v.GetArray())
      if (has_key_anywhere(x, key)) return true;
  }
  return false;
}

size_t client_tools(const rapidjson::Value& d) {
  size_t n = 0;
  for (const auto& t : d["tools"].GetArray())
    if (jv::sv(t, "type").empty() || jv::sv(t, "type") == "custom" || jv::sv(t, "type") == "function") ++n;
  return n;
}

// The chat rule every OpenAI-compatible vendor enforces: each tool message answers a call of
// the assistant message before it, and every call is answered before the next user turn.
void check_chat_pairing(const rapidjson::Value& msgs) {
  std::set<std::string> open;
  for (const auto& m : msgs.GetArray()) {
    std::string_view role = jv::sv(m, "role");
    if (role == "tool") {
      INFO("tool_call_id " << jv::sv(m, "tool_call_id"));
      CHECK(open.erase(std::string(jv::sv(m, "tool_call_id"))) == 1);
    } else {
      CHECK(open.empty());
      open.clear();
      if (const auto* calls = jv::get(m, "tool_calls"))
        for (const auto& c : calls->GetArray()) open.insert(c["id"].GetString());
    }
  }
}

// Anthropic: roles alternate, the first is user, tool_results lead the turn after the calls.
void check_anthropic_turns(const rapidjson::Value& msgs) {
  std::string prev;
  std::set<std::string> calls;
  for (const auto& m : msgs.GetArray()) {
    std::string role(jv::sv(m, "role"));
    CHECK(role != prev);
    if (prev.empty()) CHECK(role == "user");
    prev = role;
    const auto& content = m["content"];
    REQUIRE(content.IsArray());
    CHECK_FALSE(content.Empty());
    bool text_seen = false;
    std::set<std::string> answered;
    for (const auto& b : content.GetArray()) {
      std::string_view type = jv::sv(b, "type");
      if (type == "tool_result") {
        CHECK_FALSE(text_seen);
        answered.insert(b["tool_use_id"].GetString());
      } else if (type == "text") {
        text_seen = true;
        CHECK(b["text"].GetStringLength() > 0);  // Anthropic refuses empty text blocks
      }
    }
    if (role == "user") {
      CHECK(answered == calls);
      calls.clear();
    } else {
      for (const auto& b : content.GetArray())
        if (jv::sv(b, "type") == "tool_use") {
          calls.insert(b["id"].GetString());
          CHECK(b["input"].IsObject());
        }
    }
  }
}

// Gemini: user/model only; function responses answer the calls of the turn before, by name and count.
void check_gemini_contents(const rapidjson::Value& contents) {
  std::vector<std::string> calls;
  std::string prev;
  for (const auto& c : contents.GetArray()) {
    std::string role(jv::sv(c, "role"));
    CHECK((role == "user" || role == "model"));
    CHECK(role != prev);
    prev = role;
    std::vector<std::string> responses;
    std::vector<std::string> made;
    for (const auto& p : c["parts"].GetArray()) {
      if (const auto* fc = jv::get(p, "functionCall")) {
        made.push_back((*fc)["name"].GetString());
        CHECK((*fc)["args"].IsObject());
      }
      if (const auto* fr = jv::get(p, "functionResponse")) {
        responses.push_back((*fr)["name"].GetString());
        CHECK((*fr)["response"].IsObject());
      }
    }
    if (role == "user" && !calls.empty()) CHECK(responses == calls);
    calls = made;
  }
}

}  // namespace

TEST_CASE("Claude Code's first turn reaches every vendor dialect in a shape it accepts", "[translate]") {
  std::string body = fixture("claude_code_first_turn.json");
  auto req = parsed(ClientApi::kMessages, body);
  config::Provider p;
  p.max_output_tokens = 8192;

  auto oa = build(*req, p, "openai");
  CHECK(oa.vr.path == "/chat/completions");
  const auto& msgs = oa.body["messages"];
  CHECK(jv::sv(msgs[0], "role") == "system");
  // Both system sources (top-level blocks and the role:"system" message) end up in the one system message.
  std::string sys(jv::sv(msgs[0], "content"));
  CHECK(sys.find(jv::sv(req->doc["system"][0], "text").substr(0, 40)) != std::string::npos);
  for (const auto& m : msgs.GetArray()) CHECK(jv::sv(m, "role") != "developer");
  for (const char* gone : {"cache_control", "thinking", "output_config", "context_management", "metadata", "defer_loading"})
    CHECK_FALSE(has_key_anywhere(oa.body, gone));
  CHECK(oa.body["tools"].Size() == client_tools(req->doc));
  CHECK(oa.body["max_tokens"].GetInt64() == 8192);  // Claude Code's 32000 clamped to the vendor's ceiling
  CHECK(oa.body["stream_options"]["include_usage"].GetBool());
  CHECK(jv::sv(oa.body, "model") == "vendor-model");

  auto an = build(*req, p, "anthropic");
  CHECK(an.vr.path == "/messages");
  // Passthrough: everything Anthropic understands is kept; the model and the cap change, and
  // the role:"system" message (Anthropic refuses it there) joins the system blocks at their end.
  rapidjson::Document expect;
  expect.Parse(body.data(), body.size());
  auto& a = expect.GetAllocator();
  expect["model"].SetString("vendor-model");
  expect["max_tokens"].SetInt64(8192);
  auto& emsgs = expect["messages"];
  REQUIRE(jv::sv(emsgs[0], "role") == "system");
  const auto& sys_content = emsgs[0]["content"];
  if (sys_content.IsString()) {
    rapidjson::Value b(rapidjson::kObjectType);
    b.AddMember("type", "text", a);
    b.AddMember("text", rapidjson::Value(sys_content, a), a);
    expect["system"].PushBack(b, a);
  } else {
    for (const auto& b : sys_content.GetArray()) expect["system"].PushBack(rapidjson::Value(b, a), a);
  }
  emsgs.Erase(emsgs.Begin());
  CHECK(an.body == expect);
  for (const auto& m : an.body["messages"].GetArray()) CHECK(jv::sv(m, "role") != "system");

  auto gm = build(*req, p, "gemini", "gemini-2.5-flash");
  CHECK(gm.vr.path == "/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  check_gemini_contents(gm.body["contents"]);
  CHECK(gm.body["systemInstruction"]["parts"][0]["text"].GetStringLength() > 100);
  CHECK(gm.body["tools"][0]["functionDeclarations"].Size() == client_tools(req->doc));
  for (const char* refused : {"$schema", "additionalProperties", "exclusiveMinimum", "propertyNames", "cache_control"})
    CHECK_FALSE(has_key_anywhere(gm.body["tools"], refused));
  for (const auto& m : gm.body["generationConfig"].GetObject())
    CHECK((std::string(m.name.GetString()) == "maxOutputTokens" || std::string(m.name.GetString()) == "temperature"));
}

TEST_CASE("the observed Claude Code 2.1.332 body translates too", "[translate]") {
  auto req = parsed(ClientApi::kMessages, fixture("claude_code_observed_2_1_332.json"));
  config::Provider p;
  auto oa = build(*req, p, "openai");
  CHECK_FALSE(has_key_anywhere(oa.body, "cache_control"));
  check_chat_pairing(oa.body["messages"]);
  auto gm = build(*req, p, "gemini");
  check_gemini_contents(gm.body["contents"]);
}

TEST_CASE("a Claude Code tool turn keeps calls, results, errors and images paired", "[translate]") {
  auto req = parsed(ClientApi::kMessages, fixture("claude_code_tool_turn.json"));
  config::Provider p;
  auto oa = build(*req, p, "openai");
  const auto& msgs = oa.body["messages"];
  check_chat_pairing(msgs);
  size_t calls = 0, results = 0, images = 0;
  for (const auto& m : msgs.GetArray()) {
    if (const auto* tc = jv::get(m, "tool_calls")) calls += tc->Size();
    if (jv::sv(m, "role") == "tool") ++results;
    if (m["content"].IsArray())
      for (const auto& part : m["content"].GetArray())
        if (jv::sv(part, "type") == "image_url") {
          ++images;
          CHECK(jv::sv(part["image_url"], "url").substr(0, 11) == "data:image/");
        }
  }
  CHECK(calls >= 2);
  CHECK(results == calls);
  CHECK(images >= 2);  // the user's image and the one a tool returned
  CHECK(oa.body["stop"].IsArray());

  auto gm = build(*req, p, "gemini", "gemini-3-pro-preview");
  check_gemini_contents(gm.body["contents"]);
  // Gemini 3 refuses calls without a signature; history from elsewhere gets Google's stand-in.
  for (const auto& c : gm.body["contents"].GetArray())
    for (const auto& part : c["parts"].GetArray())
      if (jv::get(part, "functionCall")) CHECK(jv::sv(part, "thoughtSignature") == "skip_thought_signature_validator");

  auto an = build(*req, p, "anthropic");
  check_anthropic_turns(an.body["messages"]);
}

TEST_CASE("Codex's Responses request becomes a chat request with paired calls and no hosted tools", "[translate]") {
  auto req = parsed(ClientApi::kResponses, fixture("codex_responses.json"));
  config::Provider p;
  auto oa = build(*req, p, "openai");
  const auto& msgs = oa.body["messages"];
  CHECK(jv::sv(msgs[0], "role") == "system");
  std::string sys(jv::sv(msgs[0], "content"));
  CHECK(sys.find(std::string(jv::sv(req->doc, "instructions")).substr(0, 40)) != std::string::npos);
  size_t systems = 0;
  for (const auto& m : msgs.GetArray()) systems += jv::sv(m, "role") == "system";
  CHECK(systems == 1);  // the developer item joined the instructions
  check_chat_pairing(msgs);
  std::set<std::string> names;
  for (const auto& t : oa.body["tools"].GetArray()) names.insert(t["function"]["name"].GetString());
  CHECK(names.count("shell_command"));
  CHECK(names.count("mcp__github__get_issue"));  // namespace flattened
  CHECK(req->namespaced.at("mcp__github__get_issue").second == "get_issue");
  for (const auto& t : oa.body["tools"].GetArray()) CHECK(jv::sv(t, "type") == "function");  // web_search dropped
  for (const char* gone : {"store", "include", "prompt_cache_key", "reasoning", "instructions", "input"})
    CHECK_FALSE(oa.body.HasMember(gone));
  CHECK(oa.body["stream_options"]["include_usage"].GetBool());

  auto an = build(*req, p, "anthropic");
  check_anthropic_turns(an.body["messages"]);
  auto gm = build(*req, p, "gemini");
  check_gemini_contents(gm.body["contents"]);
}

TEST_CASE("a function call the model made in a namespace is answered in kind", "[translate]") {
  auto req = parsed(ClientApi::kResponses, fixture("codex_responses.json"));
  Translator t(*req, VendorDialect::kOpenAI, 0);
  std::string out;
  REQUIRE(t.on_body(R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,
    "tool_calls":[{"id":"call_1","type":"function","function":{"name":"mcp__github__get_issue","arguments":"{\"issue_number\":7}"}}]},
    "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})", out) == BodyKind::kAnswer);
  rapidjson::Document d;
  d.Parse(out.data(), out.size());
  const auto& item = d["output"][0];
  CHECK(jv::sv(item, "type") == "function_call");
  CHECK(jv::sv(item, "name") == "get_issue");
  CHECK(jv::sv(item, "namespace") == "mcp__github");
  CHECK(jv::sv(item, "call_id") == "call_1");
}

TEST_CASE("OpenClaw's chat request reaches Anthropic and Gemini vendors intact", "[translate]") {
  auto req = parsed(ClientApi::kChat, fixture("openclaw_chat.json"));
  config::Provider p;
  auto an = build(*req, p, "anthropic");
  check_anthropic_turns(an.body["messages"]);
  CHECK(an.body["system"].GetStringLength() > 0);  // from the developer message
  CHECK(an.body["max_tokens"].GetInt64() == req->doc["max_completion_tokens"].GetInt64());
  CHECK_FALSE(has_key_anywhere(an.body, "cache_control"));
  CHECK(an.body["tools"].Size() == req->doc["tools"].Size());
  for (const auto& t : an.body["tools"].GetArray()) CHECK(t["input_schema"].IsObject());
  CHECK(an.body["stream"].GetBool());
  bool image = false;
  for (const auto& m : an.body["messages"].GetArray())
    for (const auto& b : m["content"].GetArray())
      if (jv::sv(b, "type") == "image") image = jv::sv(b["source"], "type") == "base64";
  CHECK(image);

  auto gm = build(*req, p, "gemini");
  check_gemini_contents(gm.body["contents"]);
  CHECK(gm.body["generationConfig"]["maxOutputTokens"].GetInt64() == req->doc["max_completion_tokens"].GetInt64());
  bool inline_data = false;
  for (const auto& c : gm.body["contents"].GetArray())
    for (const auto& part : c["parts"].GetArray()) inline_data |= jv::get(part, "inlineData") != nullptr;
  CHECK(inline_data);
}

TEST_CASE("parallel history, forced tool choice and stop strings map to Anthropic and Gemini", "[translate]") {
  auto req = parsed(ClientApi::kChat, fixture("openai_parallel_history.json"));
  config::Provider p;
  auto an = build(*req, p, "anthropic");
  check_anthropic_turns(an.body["messages"]);
  const auto& tc = an.body["tool_choice"];
  CHECK(jv::sv(tc, "type") == "tool");
  CHECK(jv::sv(tc, "name") == jv::sv(req->doc["tool_choice"]["function"], "name"));
  CHECK(tc["disable_parallel_tool_use"].GetBool());
  CHECK(an.body["stop_sequences"].IsArray());
  CHECK(an.body["temperature"].GetDouble() <= 1.0);
  // The three results of the parallel calls lead one user turn.
  bool three = false;
  for (const auto& m : an.body["messages"].GetArray()) {
    size_t results = 0;
    for (const auto& b : m["content"].GetArray()) results += jv::sv(b, "type") == "tool_result";
    three |= results == 3;
  }
  CHECK(three);

  auto gm = build(*req, p, "gemini");
  check_gemini_contents(gm.body["contents"]);
  const auto& fcc = gm.body["toolConfig"]["functionCallingConfig"];
  CHECK(jv::sv(fcc, "mode") == "ANY");
  CHECK(fcc["allowedFunctionNames"].Size() == 1);
  CHECK(jv::sv(gm.body["generationConfig"], "responseMimeType") == "application/json");
}

TEST_CASE("Qwen Code's thinking budget: dropped for chat vendors, fitted under max_tokens for Anthropic", "[translate]") {
  auto req = parsed(ClientApi::kMessages, fixture("qwen_code_anthropic.json"));
  int64_t max_tokens = req->doc["max_tokens"].GetInt64();
  REQUIRE(req->doc["thinking"]["budget_tokens"].GetInt64() == max_tokens);
  config::Provider p;
  auto oa = build(*req, p, "openai");
  CHECK_FALSE(oa.body.HasMember("thinking"));
  CHECK(oa.body["max_tokens"].GetInt64() == max_tokens);
  check_chat_pairing(oa.body["messages"]);
  auto an = build(*req, p, "anthropic");
  CHECK(an.body["thinking"]["budget_tokens"].GetInt64() == max_tokens - 1);  // Anthropic wants budget < max_tokens
  p.max_output_tokens = 1000;  // a ceiling under Anthropic's 1024 minimum budget: thinking is turned off
  auto small = build(*req, p, "anthropic");
  CHECK(small.body["max_tokens"].GetInt64() == 1000);
  CHECK_FALSE(small.body.HasMember("thinking"));
}

TEST_CASE("earlier reasoning is replayed only to vendors that want it", "[translate]") {
  std::string body = R"({"model":"m","max_tokens":50,"messages":[{"role":"user","content":"a"},
    {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"b"}]},
    {"role":"user","content":"c"}]})";
  auto req = parsed(ClientApi::kMessages, body);
  config::Provider p;
  auto plain = build(*req, p, "openai");
  CHECK_FALSE(has_key_anywhere(plain.body, "reasoning_content"));
  CHECK_FALSE(has_key_anywhere(plain.body, kReasoningKey));
  p.replay_reasoning = true;
  auto deepseek = build(*req, p, "openai");
  CHECK(jv::sv(deepseek.body["messages"][1], "reasoning_content") == "hmm");
}

TEST_CASE("thinking blocks the gateway synthesised never reach a real Anthropic", "[translate]") {
  std::string body = R"({"model":"m","max_tokens":50,"messages":[{"role":"user","content":"a"},
    {"role":"assistant","content":[{"type":"thinking","thinking":"from deepseek","signature":""},
                                   {"type":"thinking","thinking":"real","signature":"EqQDCkgI"},{"type":"text","text":"b"}]},
    {"role":"user","content":"c"}]})";
  auto req = parsed(ClientApi::kMessages, body);
  config::Provider p;
  auto an = build(*req, p, "anthropic");
  const auto& content = an.body["messages"][1]["content"];
  REQUIRE(content.Size() == 2);
  CHECK(jv::sv(content[0], "signature") == "EqQDCkgI");
}

TEST_CASE("anthropic headers: version defaulted, betas forwarded only on passthrough", "[translate]") {
  auto req = parsed(ClientApi::kMessages, fixture("sdk_anthropic_tools.json"));
  req->anthropic_beta = "interleaved-thinking-2025-05-14";
  config::Provider p;
  auto an = build(*req, p, "anthropic");
  CHECK(an.vr.headers == std::vector<std::pair<std::string, std::string>>{{"anthropic-version", "2023-06-01"},
                                                                            {"anthropic-beta", "interleaved-thinking-2025-05-14"}});
  auto chat = parsed(ClientApi::kChat, R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  auto an2 = build(*chat, p, "anthropic");
  CHECK(an2.vr.headers.size() == 1);
  CHECK(an2.body["max_tokens"].GetInt64() == 4096);  // Anthropic requires one; the chat client gave none
}

TEST_CASE("client requests are validated in their own terms", "[translate]") {
  ClientRequest r;
  ApiError e;
  CHECK_FALSE(parse_client_request(ClientApi::kMessages, R"({"model":"m","messages":[{"role":"user","content":"x"}]})", r, e));
  CHECK(e.param == "max_tokens");
  ClientRequest r2;
  CHECK_FALSE(parse_client_request(ClientApi::kResponses, R"({"model":"m"})", r2, e));
  CHECK(e.param == "input");
  ClientRequest r3;
  CHECK_FALSE(parse_client_request(ClientApi::kResponses, R"({"model":"m","input":"x","previous_response_id":"resp_1"})", r3, e));
  CHECK(e.param == "previous_response_id");
  ClientRequest r4;
  CHECK_FALSE(parse_client_request(ClientApi::kEmbeddings, R"({"model":"m","input":[]})", r4, e));
  // A Responses-shaped body on the chat path (Cursor does this) is served, not refused.
  ClientRequest r5;
  REQUIRE(parse_client_request(ClientApi::kChat, fixture("responses_simple.json"), r5, e));
  CHECK(r5.doc["messages"].IsArray());
  CHECK_FALSE(r5.doc.HasMember("input"));
}

TEST_CASE("local token counts track the size of the input", "[translate]") {
  auto small = parsed(ClientApi::kCountTokens, R"({"model":"m","messages":[{"role":"user","content":"hello there"}]})");
  auto big = parsed(ClientApi::kCountTokens, fixture("claude_code_first_turn.json"));
  int64_t s = estimate_input_tokens(*small), b = estimate_input_tokens(*big);
  CHECK(s > 0);
  CHECK(s < 20);
  // ~47 KB of mostly English JSON: roughly 4 characters a token.
  CHECK(b > 6000);
  CHECK(b < 16000);
  auto cjk = parsed(ClientApi::kCountTokens, R"({"model":"m","messages":[{"role":"user","content":"你好世界你好世界你好世界"}]})");
  CHECK(estimate_input_tokens(*cjk) >= 12);  // one token per CJK character, not a quarter
}

TEST_CASE("Gemini's signature and call id ride in the minted tool-call id and come back", "[translate]") {
  std::string id = gemini_call_id("Cq0B+/=sig", "fc_weather_1");
  for (char c : id) CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'));  // Anthropic's id rule
  GeminiCallRef ref = gemini_call_ref(id);
  CHECK(ref.signature == "Cq0B+/=sig");
  CHECK(ref.id == "fc_weather_1");
  CHECK(gemini_call_ref("call_abc").signature.empty());
  CHECK(gemini_call_ref(gemini_call_id("", "")).id.empty());
  CHECK(gemini_call_id("s", "i") != gemini_call_id("s", "i"));  // unique even for equal contents

  std::string body = R"({"model":"m","messages":[{"role":"user","content":"weather?"},
    {"role":"assistant","content":null,"tool_calls":[{"id":")" + id + R"(","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
    {"role":"tool","tool_call_id":")" + id + R"(","content":"{\"temp\":3}"}]})";
  auto req = parsed(ClientApi::kChat, body);
  config::Provider p;
  auto gm = build(*req, p, "gemini", "gemini-3-flash");
  const auto& call_part = gm.body["contents"][1]["parts"][0];
  CHECK(jv::sv(call_part, "thoughtSignature") == "Cq0B+/=sig");
  CHECK(jv::sv(call_part["functionCall"], "id") == "fc_weather_1");
  const auto& resp = gm.body["contents"][2]["parts"][0]["functionResponse"];
  CHECK(jv::sv(resp, "id") == "fc_weather_1");
  CHECK(jv::sv(resp, "name") == "get_weather");
  CHECK(resp["response"]["temp"].GetInt() == 3);
}

TEST_CASE("Responses passthrough to a vendor that serves /responses: body kept, events relayed, usage read", "[translate]") {
  auto req = parsed(ClientApi::kResponses, fixture("codex_responses.json"));
  config::Provider p;
  p.dialect = "openai";
  p.responses_api = true;
  Translator t(*req, VendorDialect::kOpenAI, 0, true);
  VendorRequest vr = t.request({&p, "gpt-5-codex"});
  CHECK(vr.path == "/responses");
  rapidjson::Document body;
  body.Parse(vr.body.c_str());
  CHECK(jv::sv(body, "model") == "gpt-5-codex");
  CHECK_FALSE(body.HasMember("stream_options"));  // the Responses API has none
  CHECK(body["tools"].Size() == req->doc["tools"].Size());  // hosted and namespace tools reach OpenAI as sent
  CHECK(body["input"] == req->doc["input"]);

  // Without the flag the same request goes through the chat hub.
  Translator hub(*req, VendorDialect::kOpenAI, 0, false);
  CHECK(hub.request({&p, "m"}).path == "/chat/completions");

  auto ev = [](const char* type, const char* data) {
    sse::Event e;
    e.event = type;
    e.data = data;
    return e;
  };
  std::string out;
  REQUIRE(t.on_event(ev("response.created", R"({"type":"response.created","response":{"id":"r","status":"in_progress"}})"), out) == Status::kOk);
  CHECK_FALSE(t.substantive());  // set-up: a failover is still invisible
  REQUIRE(t.on_event(ev("response.output_text.delta", R"({"type":"response.output_text.delta","delta":"pong"})"), out) == Status::kOk);
  CHECK(t.substantive());
  CHECK_FALSE(t.complete());
  REQUIRE(t.on_event(ev("response.completed", R"({"type":"response.completed","response":{"id":"r","status":"completed","output":[],
    "usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":15}}})"), out) == Status::kOk);
  CHECK(t.complete());
  CHECK(t.usage().prompt_tokens == 12);
  CHECK(t.usage().cached_tokens == 4);
  CHECK(t.usage().completion_tokens == 3);
  CHECK(out.find("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"pong\"}\n\n") != std::string::npos);
  std::string ignored;
  CHECK(t.on_event(ev("response.failed", R"({"type":"response.failed","response":{"error":{"message":"boom"}}})"), ignored) ==
        Status::kUpstreamError);
  CHECK_THAT(t.error(), Catch::Contains("boom"));

  Translator whole(*req, VendorDialect::kOpenAI, 0, true);
  std::string body_out;
  REQUIRE(whole.on_body(R"({"id":"r","object":"response","output":[],"usage":{"input_tokens":5,"output_tokens":2}})", body_out) ==
          BodyKind::kAnswer);
  CHECK(whole.usage().prompt_tokens == 5);
  CHECK(whole.on_body(R"({"error":{"message":"x"}})", body_out) == BodyKind::kError);
}
