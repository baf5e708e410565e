// The vocabulary of translation: which API a client called, which dialect a vendor speaks, the
// client's request parsed once, and what one vendor attempt needs (path, body, headers).
//
// Translation goes through the OpenAI chat shape as the hub: a Messages or Responses request is
// turned into a chat request once, and each vendor dialect is produced from that (with one
// exception: Messages to an Anthropic vendor passes through, keeping signatures, cache_control and
// betas). Responses come back the same way, stage by stage (translate/translator.h).
#pragma once
#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.h"
#include "openai/errors.h"
#include "openai/stream.h"

namespace lingmo::translate {

// The endpoint a client called; it fixes the dialect of the answer and of errors.
enum class ClientApi {
  kChat,         // POST /v1/chat/completions (OpenAI)
  kMessages,     // POST /v1/messages (Anthropic)
  kCountTokens,  // POST /v1/messages/count_tokens (Anthropic)
  kResponses,    // POST /v1/responses (OpenAI Responses)
  kEmbeddings,   // POST /v1/embeddings (OpenAI)
};

enum class VendorDialect { kOpenAI, kAnthropic, kGemini };

std::optional<VendorDialect> parse_dialect(std::string_view name);
const char* api_name(ClientApi api);  // "chat" | "messages" | "count_tokens" | "responses" | "embeddings"  // "openai" | "anthropic" | "gemini"
bool is_anthropic_dialect(ClientApi api);                           // errors and shapes are Anthropic's

using Usage = openai::Usage;
using openai::ApiError;

// The client's request, parsed and validated once; every attempt's vendor body is built from it.
struct ClientRequest {
  ClientApi api = ClientApi::kChat;
  rapidjson::Document doc;   // the body as the client sent it
  rapidjson::Document chat;  // the same request in chat-completions form (not for kChat/kEmbeddings)
  std::string model;
  bool stream = false;
  bool wants_usage = false;           // chat: stream_options.include_usage; always true internally
  int64_t max_output_tokens = 0;      // as asked by the client; 0 = not given
  std::string anthropic_version;      // client's headers, forwarded to Anthropic vendors
  std::string anthropic_beta;
  std::set<std::string> custom_tools;  // Responses "custom" (free-text input) tools, by name
  // Responses "namespace" tool groups are flattened for chat vendors as NAMESPACE__NAME; calls
  // of those names go back to the client as {name, namespace}.
  std::map<std::string, std::pair<std::string, std::string>> namespaced;

  // The request in chat form: `doc` for chat clients, `chat` for the others.
  const rapidjson::Value& as_chat() const { return api == ClientApi::kChat ? doc : chat; }
};

// Parses and validates a client body. On failure fills `err` (status 400, in OpenAI's terms; the
// caller renders it in the client's dialect with render_error).
bool parse_client_request(ClientApi api, std::string_view body, ClientRequest& out, ApiError& err);

// One vendor attempt: POST {provider base_url}{path} with `body` and `headers` (auth is added by
// the caller from the provider's dialect and sealed key).
struct VendorRequest {
  std::string path;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Where an attempt goes.
struct Target {
  const config::Provider* provider = nullptr;
  std::string upstream_model;
};

// /v1/messages/count_tokens answered locally (translate/count_tokens.cpp explains the estimate).
int64_t estimate_input_tokens(const ClientRequest& req);

// The request header that carries a vendor key, by the provider's dialect:
// "Authorization: Bearer K" (openai), "x-api-key: K" (anthropic), "x-goog-api-key: K" (gemini;
// Gemini also takes ?key=, but URLs end up in logs).
std::string auth_header(std::string_view dialect, std::string_view key);

// Mints a unique id with a prefix ("chatcmpl-", "msg_", "resp_", "call_"): 24 random hex digits.
std::string mint_id(std::string_view prefix);

}  // namespace lingmo::translate
