// POST /api/login, POST /api/logout, GET /api/session, POST /api/password.
#include "api.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

std::string session_cookie(const std::string& token, bool clear) {
  // HttpOnly: scripts cannot read it; SameSite=Strict: other sites cannot send it. No Max-Age
  // while logged in: the server's sliding session TTL decides when it ends.
  return "lingmo_session=" + token + "; Path=/; HttpOnly; SameSite=Strict" + (clear ? "; Max-Age=0" : "");
}

}  // namespace

void register_auth_routes(Router& r) {
  App& app = r.app();
  r.route("POST", "/api/login", Access::kPublic, "auth.login", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    std::string user = json::get_string(d, "username"), password = json::get_string(d, "password");
    if (user.empty() || password.empty()) return bad_request("username and password are required");
    if (user.size() > 64 || password.size() > 1024) return bad_request("username or password too long");
    LoginOutcome out = app.auth.login(user, password, c.ip);
    Reply rep;
    switch (out.kind) {
      case LoginOutcome::kThrottled:
        rep = error_reply(429, "too_many_attempts", "too many failed logins; try again later");
        rep.headers.emplace_back("Retry-After", std::to_string(out.retry_after_s));
        break;
      case LoginOutcome::kBadCredentials: rep = error_reply(401, "bad_credentials", "wrong username or password"); break;
      case LoginOutcome::kStorage: rep = storage_error(out.error); break;
      case LoginOutcome::kOk: break;
    }
    if (out.kind != LoginOutcome::kOk) {
      rep.audit_user = user.substr(0, 64);  // failed attempts are logged with the name tried
      return rep;
    }
    rep = ok_raw("{\"token\":" + json::quote(out.token) + ",\"csrf_token\":" + json::quote(out.csrf) +
                       ",\"must_change_password\":" + (out.must_change ? "true" : "false") +
                       ",\"role\":" + json::quote(out.role) + ",\"expires_in\":" + std::to_string(app.cfg.session_ttl_s) + "}");
    rep.headers.emplace_back("Set-Cookie", session_cookie(out.token, false));
    rep.audit_user = user;
    return rep;
  });

  r.route("POST", "/api/logout", Access::kSession, "auth.logout", [&app](const Call& c) {
    app.auth.logout(*c.session);
    Reply rep = ok_raw("{\"ok\":true}");
    rep.headers.emplace_back("Set-Cookie", session_cookie("", true));
    return rep;
  });

  r.route("GET", "/api/session", Access::kSession, "", [](const Call& c) {
    return ok_raw("{\"user\":" + json::quote(c.session->user) + ",\"role\":" + json::quote(c.session->role) +
                  ",\"csrf_token\":" + json::quote(c.session->csrf) +
                  ",\"must_change_password\":" + (c.session->must_change ? "true" : "false") + "}");
  });

  r.route("POST", "/api/password", Access::kSession, "auth.password", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    auto done = app.auth.change_password(*c.session, json::get_string(d, "old_password"), json::get_string(d, "new_password"));
    if (!done) return bad_request(done.error());
    return ok_raw("{\"ok\":true}");
  });
}

}  // namespace lingmo::cp
