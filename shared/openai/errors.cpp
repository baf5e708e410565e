#include "openai/errors.h"

#include "util/json.h"

namespace lingmo::openai {

namespace {
std::string or_null(const std::string& s) { return s.empty() ? "null" : json::quote(s); }
}  // namespace

std::string error_body(const ApiError& e) {
  return "{\"error\":{\"message\":" + json::quote(e.message) + ",\"type\":" + json::quote(e.type) +
         ",\"param\":" + or_null(e.param) + ",\"code\":" + or_null(e.code) + "}}";
}

std::string error_event(const ApiError& e) { return "data: " + error_body(e) + "\n\n"; }

ApiError invalid_request(std::string message, std::string param, std::string code) {
  return ApiError{400, "invalid_request_error", std::move(code), std::move(message), std::move(param)};
}

}  // namespace lingmo::openai
