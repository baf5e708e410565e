// Errors in the OpenAI dialect: {"error":{"message","type","param","code"}} with an HTTP status.
#pragma once
#include <string>

namespace lingmo::openai {

struct ApiError {
  int status = 500;
  std::string type;     // e.g. invalid_request_error, authentication_error, insufficient_quota
  std::string code;     // empty -> null
  std::string message;
  std::string param;    // empty -> null
};

std::string error_body(const ApiError& e);

// A stream chunk carrying an error, for failures after the first byte has reached the client:
// "data: {...}\n\n" (no [DONE] follows; the client must not mistake it for a complete answer).
std::string error_event(const ApiError& e);

ApiError invalid_request(std::string message, std::string param = {}, std::string code = {});

}  // namespace lingmo::openai
