// GET /healthz: the daemon is up and Redis answers (503 otherwise); no session needed, no secrets.
// GET /api/openapi.json: the OpenAPI 3 description of this API (daemon/openapi.json, compiled in).
#include "api.h"

namespace lingmo::cp {

extern const char* const kOpenApiJson;

void register_system_routes(Router& r) {
  r.route("GET", "/api/openapi.json", Access::kPublic, "", [](const Call&) { return ok_raw(kOpenApiJson); });
  App& app = r.app();
  r.route("GET", "/healthz", Access::kPublic, "", [&app](const Call&) {
    auto pong = app.redis.get_string({"PING"});
    if (!pong) return error_reply(503, "redis_unavailable", pong.error());
    return ok_raw("{\"status\":\"ok\",\"redis\":\"ok\"}");
  });
}

}  // namespace lingmo::cp
