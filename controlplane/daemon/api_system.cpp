// GET /healthz: the daemon is up and Redis answers (503 otherwise); no session needed, no secrets.
#include "api.h"

namespace lingmo::cp {

void register_system_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/healthz", Access::kPublic, "", [&app](const Call&) {
    auto pong = app.redis.get_string({"PING"});
    if (!pong) return error_reply(503, "redis_unavailable", pong.error());
    return ok_raw("{\"status\":\"ok\",\"redis\":\"ok\"}");
  });
}

}  // namespace lingmo::cp
