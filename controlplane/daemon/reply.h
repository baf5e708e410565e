// What an API handler returns: a status, a JSON body and extra headers. Errors use one shape,
// {"error":{"code","message"}}, with a status that says what went wrong.
#pragma once
#include <rapidjson/document.h>

#include <string>
#include <utility>
#include <vector>

#include "util/json.h"

namespace lingmo::cp {

struct Reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string audit_user;  // who the audit log names when there is no session (a login attempt)
  std::string content_type = "application/json";
};

inline Reply ok_json(const rapidjson::Value& v, int status = 200) { return Reply{status, json::stringify(v), {}, {}, "application/json"}; }
inline Reply ok_raw(std::string body, int status = 200) { return Reply{status, std::move(body), {}, {}, "application/json"}; }

inline Reply error_reply(int status, std::string_view code, std::string_view message) {
  return Reply{status, "{\"error\":{\"code\":" + json::quote(code) + ",\"message\":" + json::quote(message) + "}}", {}, {}, "application/json"};
}

inline Reply bad_request(std::string_view message) { return error_reply(400, "invalid_request", message); }
inline Reply not_found(std::string_view what) { return error_reply(404, "not_found", std::string(what) + " not found"); }
inline Reply storage_error(std::string_view detail) { return error_reply(503, "storage_unavailable", "Redis: " + std::string(detail)); }

}  // namespace lingmo::cp
