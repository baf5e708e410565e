// GET /api/audit?user=&action=&offset=&limit= : the operation log, newest first.
#include "api.h"
#include "util/json.h"

namespace lingmo::cp {

void register_audit_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/audit", Access::kRead, "", [&app](const Call& c) {
    auto num = [&](const char* k, size_t def, size_t max) {
      if (!c.req.has_param(k)) return def;
      try {
        return std::min<size_t>(max, std::stoul(c.req.get_param_value(k)));
      } catch (const std::exception&) {
        return def;
      }
    };
    size_t total = 0;
    auto entries = app.audit.list(c.req.get_param_value("user"), c.req.get_param_value("action"), num("offset", 0, 1000000),
                                  num("limit", 50, 500), &total);
    if (!entries) return storage_error(entries.error());
    std::string body = "{\"total\":" + std::to_string(total) + ",\"entries\":[";
    for (size_t i = 0; i < entries.value().size(); ++i) {
      const auto& e = entries.value()[i];
      body += std::string(i ? "," : "") + "{\"ts\":" + std::to_string(e.ts_ms) + ",\"user\":" + json::quote(e.user) +
              ",\"ip\":" + json::quote(e.ip) + ",\"action\":" + json::quote(e.action) + ",\"target\":" + json::quote(e.target) +
              ",\"status\":" + std::to_string(e.status) + "}";
    }
    return ok_raw(body + "]}");
  });
}

}  // namespace lingmo::cp
