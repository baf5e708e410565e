// Admin accounts, for admins only: GET /api/users, POST /api/users (the one-time password is in
// the answer, once), PUT /api/users/{name} (role), POST /api/users/{name}/reset-password,
// DELETE /api/users/{name}. The Redis side and its guard (never zero admins) is Auth's
// (auth.cpp); here: input, the guards that depend on who asks, and the answers.
#include "api.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

// Any path segment reaches the handler: a name that cannot exist is a 404 like an absent one.
const std::string kNameRe = "([^/]+)";

std::string account_json(const std::string& name, const std::string& role, bool must_change) {
  return "{\"name\":" + json::quote(name) + ",\"role\":" + json::quote(role) + ",\"must_change\":" + (must_change ? "true" : "false");
}

// The answer for a change that Auth refused or that failed in Redis; nullopt when it went through.
std::optional<Reply> refused(const Result<AccountChange>& r, const std::string& name) {
  if (!r) return storage_error(r.error());
  switch (r.value()) {
    case AccountChange::kNotFound: return not_found("user " + name);
    case AccountChange::kExists: return error_reply(409, "already_exists", "user " + name + " exists");
    case AccountChange::kLastAdmin:
      return error_reply(409, "last_admin", "user " + name + " is the last admin; make another account admin first");
    default: return std::nullopt;
  }
}

// The account as stored after a change (for the answer); empty fields when it cannot be read.
Account account_of(App& app, const std::string& name) {
  if (auto all = app.auth.accounts())
    for (const auto& a : all.value())
      if (a.name == name) return a;
  return {name, "", false};
}

}  // namespace

void register_user_routes(Router& r) {
  App& app = r.app();
  // Admin-only although it is a read (Access::kWrite without an audit action): a viewer has no
  // business with the list of accounts.
  r.route("GET", "/api/users", Access::kWrite, "", [&app](const Call&) {
    auto all = app.auth.accounts();
    if (!all) return storage_error(all.error());
    std::string body = "{\"users\":[";
    for (size_t i = 0; i < all.value().size(); ++i) {
      const Account& a = all.value()[i];
      body += (i ? "," : "") + account_json(a.name, a.role, a.must_change) + "}";
    }
    return ok_raw(body + "]}");
  });

  r.route("POST", "/api/users", Access::kWrite, "user.add", [&app](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    for (const char* k : {"name", "role"})
      if (d.HasMember(k) && !d[k].IsString()) return bad_request(std::string(k) + " must be a string");
    std::string name = json::get_string(d, "name"), role = json::get_string(d, "role", "viewer");
    if (!Auth::valid_name(name)) return bad_request("name must be 1-64 characters from A-Z a-z 0-9 _ . @ - (not . or ..)");
    if (!Auth::valid_role(role)) return bad_request("role must be admin or viewer");
    std::string password;
    auto done = app.auth.add_account(name, role, password);
    if (auto no = refused(done, name)) return *no;
    // The one-time password is shown here once; Redis keeps its scrypt hash only.
    return ok_raw(account_json(name, role, true) + ",\"password\":" + json::quote(password) + "}", 201);
  });

  r.route("PUT", "/api/users/" + kNameRe, Access::kWrite, "user.update", [&app](const Call& c) {
    std::string name = c.req.matches[1];
    if (!Auth::valid_name(name)) return not_found("user " + name);
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    if (!d.HasMember("role") || !d["role"].IsString() || !Auth::valid_role(d["role"].GetString()))
      return bad_request("role must be admin or viewer");
    std::string role = d["role"].GetString();
    auto done = app.auth.set_role(name, role);
    if (auto no = refused(done, name)) return *no;
    return ok_raw(account_json(name, role, account_of(app, name).must_change) + "}");
  });

  r.route("POST", "/api/users/" + kNameRe + "/reset-password", Access::kWrite, "user.reset_password", [&app](const Call& c) {
    std::string name = c.req.matches[1];
    if (!Auth::valid_name(name)) return not_found("user " + name);
    // Without the old password and ending this very session: an admin changes their own password
    // with POST /api/password.
    if (name == c.session->user)
      return error_reply(409, "own_account", "change your own password with POST /api/password");
    std::string password;
    auto done = app.auth.reset_password(name, password);
    if (auto no = refused(done, name)) return *no;
    return ok_raw(account_json(name, account_of(app, name).role, true) + ",\"password\":" + json::quote(password) + "}");
  });

  r.route("DELETE", "/api/users/" + kNameRe, Access::kWrite, "user.delete", [&app](const Call& c) {
    std::string name = c.req.matches[1];
    if (!Auth::valid_name(name)) return not_found("user " + name);
    if (name == c.session->user) return error_reply(409, "own_account", "an admin cannot delete their own account");
    auto done = app.auth.delete_account(name);
    if (auto no = refused(done, name)) return *no;
    return ok_raw("{\"ok\":true}");
  });
}

}  // namespace lingmo::cp
