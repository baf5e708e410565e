// Parsing and validating what a client sent, per API, and building the hub (chat) form once.
#include <openssl/rand.h>

#include "translate/api.h"
#include "translate/hub.h"
#include "translate/jsonv.h"
#include "openai/request.h"
#include "util/json.h"

namespace lingmo::translate {

const char* api_name(ClientApi api) {
  switch (api) {
    case ClientApi::kChat: return "chat";
    case ClientApi::kMessages: return "messages";
    case ClientApi::kCountTokens: return "count_tokens";
    case ClientApi::kResponses: return "responses";
    case ClientApi::kEmbeddings: return "embeddings";
  }
  return "unknown";
}

std::optional<VendorDialect> parse_dialect(std::string_view name) {
  if (name == "openai") return VendorDialect::kOpenAI;
  if (name == "anthropic") return VendorDialect::kAnthropic;
  if (name == "gemini") return VendorDialect::kGemini;
  return std::nullopt;
}

bool is_anthropic_dialect(ClientApi api) { return api == ClientApi::kMessages || api == ClientApi::kCountTokens; }

std::string auth_header(std::string_view dialect, std::string_view key) {
  std::string_view name = dialect == "anthropic" ? "x-api-key: " : dialect == "gemini" ? "x-goog-api-key: " : "Authorization: Bearer ";
  return std::string(name).append(key);
}

std::string mint_id(std::string_view prefix) {
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static const char* kHex = "0123456789abcdef";
  std::string id(prefix);
  for (unsigned char c : raw) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

int64_t output_cap(const ClientRequest& req, const Target& t, int64_t fallback) {
  int64_t ceiling = t.provider ? t.provider->max_output_tokens : 0;
  int64_t v = req.max_output_tokens > 0 ? req.max_output_tokens : fallback;
  if (ceiling > 0 && (v <= 0 || v > ceiling)) v = (req.max_output_tokens > 0 || fallback > 0) ? ceiling : 0;
  return v;
}

namespace {

bool parse_object(std::string_view body, rapidjson::Document& d, ApiError& err) {
  json::parse(d, body.data(), body.size());
  if (d.HasParseError()) {
    err = openai::invalid_request("The request body is not valid JSON.");
    return false;
  }
  if (!d.IsObject()) {
    err = openai::invalid_request("The request body must be a JSON object.");
    return false;
  }
  return true;
}

bool read_model(const rapidjson::Value& d, std::string& model, ApiError& err) {
  const auto* m = jv::get(d, "model");
  if (!m || !m->IsString() || m->GetStringLength() == 0) {
    err = openai::invalid_request("model: a non-empty string is required", "model");
    return false;
  }
  model.assign(m->GetString(), m->GetStringLength());
  return true;
}

bool read_stream(const rapidjson::Value& d, bool& stream, ApiError& err) {
  const auto* s = jv::get(d, "stream");
  if (!s) return true;
  if (!s->IsBool()) {
    err = openai::invalid_request("stream: must be a boolean", "stream");
    return false;
  }
  stream = s->GetBool();
  return true;
}

bool parse_messages(std::string_view body, ClientRequest& out, ApiError& err, bool count_only) {
  auto& d = out.doc;
  if (!parse_object(body, d, err) || !read_model(d, out.model, err)) return false;
  const auto* mt = jv::get(d, "max_tokens");
  if (!count_only) {
    if (!mt) {
      err = openai::invalid_request("max_tokens: Field required", "max_tokens");
      return false;
    }
    if (!mt->IsInt64() || mt->GetInt64() < 1) {
      err = openai::invalid_request("max_tokens: must be a positive integer", "max_tokens");
      return false;
    }
    out.max_output_tokens = mt->GetInt64();
    if (!read_stream(d, out.stream, err)) return false;
  }
  const auto* msgs = jv::get(d, "messages");
  if (!msgs || !msgs->IsArray() || msgs->Empty()) {
    err = openai::invalid_request("messages: a non-empty array is required", "messages");
    return false;
  }
  for (const auto& m : msgs->GetArray()) {
    std::string_view role = jv::sv(m, "role");
    if (role != "user" && role != "assistant" && role != "system") {
      err = openai::invalid_request("messages: each message needs a role of \"user\" or \"assistant\"", "messages");
      return false;
    }
    const auto* c = jv::get(m, "content");
    if (!c || !(c->IsString() || c->IsArray())) {
      err = openai::invalid_request("messages: each message needs content (a string or an array of blocks)", "messages");
      return false;
    }
  }
  if (const auto* sys = jv::get(d, "system"); sys && !sys->IsString() && !sys->IsArray()) {
    err = openai::invalid_request("system: must be a string or an array of text blocks", "system");
    return false;
  }
  if (const auto* tools = jv::get(d, "tools"); tools && !tools->IsArray()) {
    err = openai::invalid_request("tools: must be an array", "tools");
    return false;
  }
  out.wants_usage = true;
  messages_to_chat(d, out.chat);
  return true;
}

bool parse_responses(std::string_view body, ClientRequest& out, ApiError& err) {
  auto& d = out.doc;
  if (!parse_object(body, d, err) || !read_model(d, out.model, err) || !read_stream(d, out.stream, err)) return false;
  const auto* input = jv::get(d, "input");
  if (!input || !(input->IsString() || input->IsArray())) {
    err = openai::invalid_request("Missing required parameter: 'input' (a string or an array of items).", "input");
    return false;
  }
  if (const auto* m = jv::get(d, "max_output_tokens")) {
    if (!m->IsInt64() || m->GetInt64() < 1) {
      err = openai::invalid_request("max_output_tokens: must be a positive integer", "max_output_tokens");
      return false;
    }
    out.max_output_tokens = m->GetInt64();
  }
  out.wants_usage = true;
  return responses_to_chat(d, out.chat, out, err);
}

bool parse_embeddings(std::string_view body, ClientRequest& out, ApiError& err) {
  auto& d = out.doc;
  if (!parse_object(body, d, err) || !read_model(d, out.model, err)) return false;
  const auto* input = jv::get(d, "input");
  if (!input || !(input->IsString() || input->IsArray()) || (input->IsArray() && input->Empty())) {
    err = openai::invalid_request("Missing required parameter: 'input' (a string or a non-empty array).", "input");
    return false;
  }
  return true;
}

bool parse_chat(std::string_view body, ClientRequest& out, ApiError& err) {
  openai::ChatRequest chat;
  if (!openai::parse_chat_request(body, chat, err)) {
    // Some clients (Cursor with certain model names) send a Responses body to the chat path:
    // serve it rather than refuse it.
    if (err.param != "messages" || !chat.doc.IsObject() || !jv::get(chat.doc, "input")) return false;
    ClientRequest r;
    if (!parse_responses(body, r, err)) return false;
    out.doc.Swap(r.chat);
    out.model = r.model;
    out.stream = r.stream;
    out.max_output_tokens = r.max_output_tokens;
    out.wants_usage = false;
    if (out.stream) {  // the hub form asks for usage; this client did not
      auto so = out.doc.FindMember("stream_options");
      if (so != out.doc.MemberEnd()) out.doc.RemoveMember(so);
    }
    return true;
  }
  out.doc.Swap(chat.doc);
  out.model = std::move(chat.model);
  out.stream = chat.stream;
  out.wants_usage = chat.client_wants_usage;
  out.max_output_tokens = json::get_int(out.doc, "max_completion_tokens", json::get_int(out.doc, "max_tokens", 0));
  return true;
}

}  // namespace

bool parse_client_request(ClientApi api, std::string_view body, ClientRequest& out, ApiError& err) {
  out.api = api;
  switch (api) {
    case ClientApi::kChat: return parse_chat(body, out, err);
    case ClientApi::kMessages: return parse_messages(body, out, err, false);
    case ClientApi::kCountTokens: return parse_messages(body, out, err, true);
    case ClientApi::kResponses: return parse_responses(body, out, err);
    case ClientApi::kEmbeddings: return parse_embeddings(body, out, err);
  }
  return false;
}

}  // namespace lingmo::translate
