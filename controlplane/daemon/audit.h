// The operation (audit) log: every change made through the API, who made it, from where, and
// whether it worked. A capped Redis list (lingmo:audit, newest first, 10,000 entries). Entries
// never hold secrets: request bodies are not recorded, only the action and its target.
#pragma once
#include <string>
#include <vector>

#include "redis_pool.h"

namespace lingmo::cp {

struct AuditEntry {
  int64_t ts_ms = 0;
  std::string user, ip, action, target;
  int status = 0;
};

class Audit {
 public:
  static constexpr int kKeep = 10000;
  explicit Audit(RedisPool& redis) : redis_(redis) {}
  void record(const AuditEntry& e);
  // Newest first, filtered (empty filter = any), paginated.
  Result<std::vector<AuditEntry>> list(const std::string& user, const std::string& action, size_t offset, size_t limit,
                                       size_t* total);

 private:
  RedisPool& redis_;
};

}  // namespace lingmo::cp
