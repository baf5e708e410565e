// Client requests into the hub (OpenAI chat) form, and vendor bodies out of it. Internal to
// translate/; the handler uses translate/api.h and translate/translator.h.
#pragma once
#include <rapidjson/document.h>

#include <set>
#include <string>

#include "translate/api.h"

namespace lingmo::translate {

// The hub may carry the assistant's earlier reasoning under this private key; vendor bodies
// turn it into `reasoning_content` for vendors that want it replayed, and drop it for the rest.
inline constexpr const char* kReasoningKey = "_lingmo_reasoning";

// Anthropic Messages request -> chat request (vendors.md 6.2). Unknown fields are ignored.
void messages_to_chat(const rapidjson::Value& req, rapidjson::Document& chat);

// OpenAI Responses request -> chat request. Custom and namespaced tools are recorded in `out` so
// their calls can be answered in kind. False (with `err`) for what cannot be served.
bool responses_to_chat(const rapidjson::Value& req, rapidjson::Document& chat, ClientRequest& out, ApiError& err);

// Vendor bodies from the hub form, one per vendor dialect.
VendorRequest chat_to_openai(const ClientRequest& req, const Target& t);
VendorRequest chat_to_anthropic(const ClientRequest& req, const Target& t);
VendorRequest chat_to_gemini(const ClientRequest& req, const Target& t);
// Anthropic client to Anthropic vendor: the client's body with the vendor's model, untouched otherwise
// (except thinking blocks the gateway synthesised, which a real Anthropic would reject).
VendorRequest messages_passthrough(const ClientRequest& req, const Target& t);
VendorRequest count_tokens_passthrough(const ClientRequest& req, const Target& t);
VendorRequest embeddings_passthrough(const ClientRequest& req, const Target& t);
VendorRequest responses_passthrough(const ClientRequest& req, const Target& t);  // vendors with responses_api

// The max output tokens for a vendor body: the client's ask clamped to the provider's ceiling,
// or `fallback` when the client gave none (0 = leave unset).
int64_t output_cap(const ClientRequest& req, const Target& t, int64_t fallback);

// Tool-call ids minted for Gemini function calls carry the call's thought signature and Gemini's
// own call id, so both come back with the client's history without any server-side memory.
struct GeminiCallRef {
  std::string signature, id;  // either may be empty
};
std::string gemini_call_id(std::string_view thought_signature, std::string_view gemini_id = {});
GeminiCallRef gemini_call_ref(std::string_view tool_call_id);  // empty fields if not one of ours
inline std::string signature_from_call_id(std::string_view id) { return gemini_call_ref(id).signature; }

}  // namespace lingmo::translate
