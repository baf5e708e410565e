// The admin REST API: one router that does authentication, CSRF, roles, CORS, audit and error
// shaping for every route, and one file per resource that registers its routes
// (api_auth.cpp, api_providers.cpp, api_keys.cpp, api_settings.cpp, api_audit.cpp, api_quota.cpp,
// api_system.cpp).
#pragma once
#include <httplib.h>

#include <functional>
#include <string>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "crypto/crypto.h"
#include "redis_pool.h"
#include "reply.h"

namespace lingmo::cp {

// Everything a handler may use. Lives as long as the server.
struct App {
  DaemonConfig cfg;
  RedisPool redis;
  crypto::SecretKey secret;
  Auth auth;
  Audit audit;
  App(DaemonConfig c, cli::RedisAddress addr, crypto::SecretKey key)
      : cfg(std::move(c)), redis(std::move(addr)), secret(std::move(key)), auth(redis, cfg), audit(redis) {}
  // Every configuration change: bump the version and tell the data plane (workers reload < 1 s).
  void notify_change(const std::string& what);
};

enum class Access {
  kPublic,   // no session (login, health)
  kSession,  // any session, even one that must change its password first
  kRead,     // a session with a changed password (admin or viewer)
  kWrite,    // an admin session; the call is written to the audit log when the route names an action
};

struct Call {
  const httplib::Request& req;
  const Session* session;  // null for kPublic routes
  std::string ip;
};

using Handler = std::function<Reply(const Call&)>;

class Router {
 public:
  Router(httplib::Server& server, App& app) : server_(server), app_(app) {}
  // `action` names the change in the audit log (e.g. "provider.add"); kWrite routes need one.
  void route(const std::string& method, const std::string& pattern, Access access, const std::string& action, Handler h);
  App& app() { return app_; }

 private:
  void dispatch(const httplib::Request& req, httplib::Response& res, Access access, const std::string& action,
                const Handler& h);
  httplib::Server& server_;
  App& app_;
};

void register_auth_routes(Router& r);
void register_provider_routes(Router& r);
void register_key_routes(Router& r);
void register_settings_routes(Router& r);
void register_audit_routes(Router& r);
void register_system_routes(Router& r);
void register_quota_routes(Router& r);  // also GET /metrics
void register_config_routes(Router& r);  // export / import
void register_log_routes(Router& r);     // GET /api/log/list (request log)
void register_usage_routes(Router& r);   // GET /api/usage/series (charts)
void register_user_routes(Router& r);    // accounts (admin only)
class Outbound;
class Dispatcher;
void register_alert_routes(Router& r, Dispatcher& dispatcher);
void register_test_routes(Router& r, const Outbound& outbound);  // POST /api/model/test
class BalanceSync;
void register_balance_routes(Router& r, BalanceSync& sync);  // POST /api/quota/sync/{provider} (api_quota.cpp)

// Whether `origin` is in the comma-separated ALLOWED_ORIGINS list (CORS).
bool origin_allowed(const std::string& allowed, const std::string& origin);

// The request body as a JSON object, or a 400 reply.
bool parse_body(const Call& c, rapidjson::Document& d, Reply& error);

}  // namespace lingmo::cp
