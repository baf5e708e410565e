// Errors in the client's own dialect. The gateway decides errors in OpenAI's terms
// (openai::ApiError: status, type, code, message); this file renders them for the API the client
// called: OpenAI's {"error":{...}} for chat, responses and embeddings, Anthropic's
// {"type":"error","error":{type,message}} with Anthropic's statuses for messages and count_tokens
// (a quota error is 429 insufficient_quota for one and 402 billing_error for the other).
#pragma once
#include <string>
#include <string_view>

#include "translate/api.h"

namespace lingmo::translate {

struct RenderedError {
  int status = 500;
  std::string body;
};

RenderedError render_error(ClientApi api, const ApiError& e);

// The error event that ends a stream which already reached the client (no [DONE], no
// message_stop, no response.completed follows).
std::string render_stream_error(ClientApi api, const ApiError& e);

// Reads an error body in any vendor dialect (OpenAI, Anthropic, Gemini, and the array-wrapped
// Gemini form): its message and type/status word. False if the body is none of them.
bool read_vendor_error(std::string_view body, std::string& message, std::string& type);

}  // namespace lingmo::translate
