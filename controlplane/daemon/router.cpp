// The one place every API call passes: CORS, session lookup (Bearer token or HttpOnly cookie),
// CSRF for cookie sessions, the must-change-password gate, roles, errors as JSON, audit.
#include <spdlog/spdlog.h>

#include <chrono>

#include "api.h"
#include "clock.h"
#include "config/schema.h"

namespace lingmo::cp {

namespace {

std::string bearer(const httplib::Request& req) {
  std::string h = req.get_header_value("Authorization");
  if (h.size() > 7 && (h.rfind("Bearer ", 0) == 0 || h.rfind("bearer ", 0) == 0)) return h.substr(7);
  return {};
}

std::string cookie(const httplib::Request& req, const std::string& name) {
  std::string all = req.get_header_value("Cookie");
  for (size_t pos = 0; pos < all.size();) {
    size_t end = all.find(';', pos);
    std::string part = all.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    size_t a = part.find_first_not_of(' ');
    if (a != std::string::npos && part.compare(a, name.size() + 1, name + "=") == 0) return part.substr(a + name.size() + 1);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return {};
}

}  // namespace

bool origin_allowed(const std::string& allowed, const std::string& origin) {
  for (size_t pos = 0; pos <= allowed.size();) {
    size_t end = allowed.find(',', pos);
    std::string one = allowed.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    while (!one.empty() && one.back() == ' ') one.pop_back();
    if (!one.empty() && one == origin) return true;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return false;
}


void App::notify_change(const std::string& what) {
  redis.run({"INCR", schema::kConfigVersion});
  redis.run({"PUBLISH", schema::kEventsChannel, what});
}

bool parse_body(const Call& c, rapidjson::Document& d, Reply& error) {
  d.Parse(c.req.body.data(), c.req.body.size());
  if (d.HasParseError() || !d.IsObject()) {
    error = bad_request("the request body must be a JSON object");
    return false;
  }
  return true;
}

void Router::route(const std::string& method, const std::string& pattern, Access access, const std::string& action,
                   Handler h) {
  auto fn = [this, access, action, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    dispatch(req, res, access, action, h);
  };
  if (method == "GET") server_.Get(pattern, fn);
  else if (method == "POST") server_.Post(pattern, fn);
  else if (method == "PUT") server_.Put(pattern, fn);
  else if (method == "DELETE") server_.Delete(pattern, fn);
}

void Router::dispatch(const httplib::Request& req, httplib::Response& res, Access access, const std::string& action,
                      const Handler& h) {
  Reply reply;
  std::optional<Session> session;
  Call call{req, nullptr, req.remote_addr};
  std::string origin = req.get_header_value("Origin");
  if (!origin.empty() && origin_allowed(app_.cfg.allowed_origins, origin)) {
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Access-Control-Allow-Credentials", "true");
    res.set_header("Vary", "Origin");
  }
  res.set_header("Cache-Control", "no-store");
  bool mutating = req.method != "GET" && req.method != "HEAD";
  try {
    if (access != Access::kPublic) {
      std::string token = bearer(req);
      bool by_cookie = token.empty();
      if (by_cookie) token = cookie(req, "lingmo_session");
      auto found = token.empty() ? Result<std::optional<Session>>(std::optional<Session>()) : app_.auth.session(token);
      if (found) session = found.value();
      if (!found) {
        reply = storage_error(found.error());  // Redis is away: not the client's fault, not a logout
      } else if (!session) {
        reply = error_reply(401, "unauthenticated", "log in first (POST /api/login)");
      } else if (by_cookie && mutating && req.get_header_value("X-CSRF-Token") != session->csrf) {
        // A browser sends the cookie on cross-site requests too; only our UI knows the CSRF token.
        reply = error_reply(403, "csrf_failed", "missing or wrong X-CSRF-Token header");
      } else if (session->must_change && access != Access::kSession) {
        reply = error_reply(403, "password_change_required", "change the one-time password first (POST /api/password)");
      } else if (access == Access::kWrite && session->role != "admin") {
        reply = error_reply(403, "forbidden", "this account may only read");
      } else {
        call.session = &*session;
        reply = h(call);
      }
    } else {
      reply = h(call);
    }
  } catch (const std::exception& e) {
    reply = error_reply(500, "internal_error", "the control plane hit an internal error; see its log");
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
  }
  if (!action.empty() && (call.session || reply.status < 400 || access == Access::kPublic))
    app_.audit.record({epoch_ms(), session ? session->user : reply.audit_user, call.ip, action, req.target, reply.status});
  res.status = reply.status;
  for (const auto& [k, v] : reply.headers) res.set_header(k.c_str(), v);
  res.set_content(reply.body, reply.content_type.c_str());
}

}  // namespace lingmo::cp
