#include "audit.h"

#include <rapidjson/document.h>

#include "util/json.h"

namespace lingmo::cp {

namespace {
constexpr const char* kAuditKey = "lingmo:audit";
}

void Audit::record(const AuditEntry& e) {
  std::string v = "{\"ts\":" + std::to_string(e.ts_ms) + ",\"user\":" + json::quote(e.user) + ",\"ip\":" + json::quote(e.ip) +
                  ",\"action\":" + json::quote(e.action) + ",\"target\":" + json::quote(e.target) +
                  ",\"status\":" + std::to_string(e.status) + "}";
  redis_.run({"LPUSH", kAuditKey, v});
  redis_.run({"LTRIM", kAuditKey, "0", std::to_string(kKeep - 1)});
}

Result<std::vector<AuditEntry>> Audit::list(const std::string& user, const std::string& action, size_t offset, size_t limit,
                                            size_t* total) {
  using R = Result<std::vector<AuditEntry>>;
  auto rep = redis_.run({"LRANGE", kAuditKey, "0", std::to_string(kKeep - 1)});
  if (!rep) return R::fail(rep.error());
  std::vector<AuditEntry> out;
  size_t matched = 0;
  for (size_t i = 0; i < rep.value()->elements; ++i) {
    rapidjson::Document d;
    d.Parse(rep.value()->element[i]->str, rep.value()->element[i]->len);
    if (d.HasParseError() || !d.IsObject()) continue;
    AuditEntry e{json::get_int(d, "ts"), json::get_string(d, "user"), json::get_string(d, "ip"),
                 json::get_string(d, "action"), json::get_string(d, "target"), static_cast<int>(json::get_int(d, "status"))};
    if (!user.empty() && e.user != user) continue;
    if (!action.empty() && e.action.rfind(action, 0) != 0) continue;  // prefix: "provider." matches all provider changes
    if (matched++ >= offset && out.size() < limit) out.push_back(std::move(e));
  }
  if (total) *total = matched;
  return out;
}

}  // namespace lingmo::cp
