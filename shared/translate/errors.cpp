#include "translate/errors.h"

#include <rapidjson/document.h>

#include "util/json.h"

namespace lingmo::translate {

namespace {

// Anthropic's error type and status for a gateway error (reference: vendors.md 4.5 and 6.2).
std::pair<int, const char*> anthropic_kind(const ApiError& e) {
  if (e.type == "insufficient_quota" || e.code == "insufficient_quota") return {402, "billing_error"};
  switch (e.status) {
    case 400: case 422: return {400, "invalid_request_error"};
    case 401: return {401, "authentication_error"};
    case 402: return {402, "billing_error"};
    case 403: return {403, "permission_error"};
    case 404: return {404, "not_found_error"};
    case 405: return {405, "invalid_request_error"};
    case 413: return {413, "request_too_large"};
    case 429: return {429, "rate_limit_error"};
    case 503: case 529: return {529, "overloaded_error"};
    case 504: return {504, "timeout_error"};
    default: break;
  }
  if (e.status >= 500) return {e.status, "api_error"};
  return {e.status, "invalid_request_error"};
}

std::string anthropic_error_json(const ApiError& e) {
  return "{\"type\":\"error\",\"error\":{\"type\":" + json::quote(anthropic_kind(e).second) +
         ",\"message\":" + json::quote(e.message) + "}}";
}

}  // namespace

RenderedError render_error(ClientApi api, const ApiError& e) {
  if (is_anthropic_dialect(api)) return {anthropic_kind(e).first, anthropic_error_json(e)};
  return {e.status, openai::error_body(e)};
}

std::string render_stream_error(ClientApi api, const ApiError& e) {
  if (is_anthropic_dialect(api)) return "event: error\ndata: " + anthropic_error_json(e) + "\n\n";
  if (api == ClientApi::kResponses) {
    // The SDKs throw on an `error` event; Codex ends its turn on response.failed.
    std::string code = json::quote(e.code.empty() ? e.type : e.code);
    return "event: error\ndata: {\"type\":\"error\",\"code\":" + code + ",\"message\":" + json::quote(e.message) +
           ",\"param\":null}\n\nevent: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"object\":"
           "\"response\",\"status\":\"failed\",\"error\":{\"code\":" + code + ",\"message\":" + json::quote(e.message) +
           "},\"output\":[]}}\n\n";
  }
  return openai::error_event(e);
}

bool read_vendor_error(std::string_view body, std::string& message, std::string& type) {
  rapidjson::Document d;
  json::parse(d, body.data(), body.size());
  if (d.HasParseError()) return false;
  const rapidjson::Value* v = &d;
  if (v->IsArray() && !v->Empty()) v = &(*v)[0];  // Gemini's OpenAI endpoint wraps errors in an array
  if (!v->IsObject()) return false;
  auto it = v->FindMember("error");
  if (it == v->MemberEnd()) {
    if (json::get_string(*v, "object") == "error") {  // vLLM
      message = json::get_string(*v, "message");
      type = json::get_string(*v, "type");
      return true;
    }
    return false;
  }
  const auto& e = it->value;
  if (e.IsString()) {
    message = e.GetString();
    return true;
  }
  if (!e.IsObject()) return false;
  message = json::get_string(e, "message");
  type = json::get_string(e, "type", json::get_string(e, "status"));  // Gemini: status
  if (type.empty()) type = json::get_string(e, "code");
  return true;
}

}  // namespace lingmo::translate
