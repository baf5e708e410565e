#include "config.h"

#include <cstdlib>
#include <fstream>

namespace lingmo::cp {

namespace {

constexpr const char* kKeys[] = {"API_LISTEN", "API_PORT",  "REDIS_ADDR", "REDIS_PASSWORD",  "REDIS_DB",   "SECRET_FILE",
                                 "ENCRYPT_KEY", "SESSION_TTL", "DEMO_MODE", "ALLOWED_ORIGINS", "API_THREADS",
                                 "QUOTA_SAMPLE_INTERVAL", "OUTBOUND_ALLOW", "BALANCE_SYNC_INTERVAL", "WEB_ROOT",
                                 "REDIS_SENTINELS", "REDIS_MASTER", "REDIS_SENTINEL_PASSWORD"};

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

Result<int> to_int(const std::string& key, const std::string& v, int lo, int hi) {
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used == v.size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  return Result<int>::fail(key + " must be a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

}  // namespace

Result<bool> DaemonConfig::apply(const std::map<std::string, std::string>& kv) {
  for (const auto& [k, v] : kv) {
    if (k == "API_LISTEN") listen = v;
    else if (k == "API_PORT") { auto n = to_int(k, v, 0, 65535); if (!n) return Result<bool>::fail(n.error()); port = n.value(); }
    else if (k == "REDIS_ADDR") redis = v;
    else if (k == "REDIS_PASSWORD") redis_password = v;
    else if (k == "REDIS_SENTINELS") redis_sentinels = v;
    else if (k == "REDIS_MASTER") redis_master = v;
    else if (k == "REDIS_SENTINEL_PASSWORD") redis_sentinel_password = v;
    else if (k == "REDIS_DB") { auto n = to_int(k, v, 0, 15); if (!n) return Result<bool>::fail(n.error()); redis_db = n.value(); }
    else if (k == "SECRET_FILE") secret_file = v;
    else if (k == "ENCRYPT_KEY") encrypt_key = v;
    else if (k == "SESSION_TTL") { auto n = to_int(k, v, 60, 30 * 86400); if (!n) return Result<bool>::fail(n.error()); session_ttl_s = n.value(); }
    else if (k == "DEMO_MODE") demo = v == "1" || v == "true" || v == "yes" || v == "on";
    else if (k == "ALLOWED_ORIGINS") allowed_origins = v;
    else if (k == "API_THREADS") { auto n = to_int(k, v, 1, 256); if (!n) return Result<bool>::fail(n.error()); threads = n.value(); }
    else if (k == "QUOTA_SAMPLE_INTERVAL") { auto n = to_int(k, v, 1, 3600); if (!n) return Result<bool>::fail(n.error()); sample_interval_s = n.value(); }
    else if (k == "OUTBOUND_ALLOW") outbound_allow = v;
    else if (k == "WEB_ROOT") web_root = v;
    else if (k == "BALANCE_SYNC_INTERVAL") { auto n = to_int(k, v, 0, 86400); if (!n) return Result<bool>::fail(n.error()); balance_interval_s = n.value(); }
    else return Result<bool>::fail("unknown setting " + k);
  }
  return true;
}

Result<cli::RedisAddress> DaemonConfig::redis_address() const {
  using R = Result<cli::RedisAddress>;
  cli::RedisAddress a;
  if (!redis_sentinels.empty()) {
    if (auto ok = a.use_sentinels(redis_sentinels, redis_master); !ok) return R::fail("REDIS_SENTINELS: " + ok.error());
    a.sentinel_password = redis_sentinel_password;
  } else {
    if (!redis_master.empty()) return R::fail("REDIS_MASTER is set but REDIS_SENTINELS is not");
    auto parsed = cli::RedisAddress::parse(redis);
    if (!parsed) return R::fail("REDIS_ADDR: " + parsed.error());
    a = std::move(parsed.value());
  }
  a.password = redis_password;
  a.db = redis_db;
  return a;
}

Result<std::map<std::string, std::string>> read_config_file(const std::string& path) {
  using R = Result<std::map<std::string, std::string>>;
  std::ifstream f(path);
  if (!f) return R::fail("cannot read config file " + path);
  std::map<std::string, std::string> kv;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return R::fail(path + ":" + std::to_string(n) + ": expected KEY=VALUE");
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    kv[trim(line.substr(0, eq))] = value;
  }
  return kv;
}

std::map<std::string, std::string> config_from_env() {
  std::map<std::string, std::string> kv;
  for (const char* k : kKeys)
    if (const char* v = std::getenv(k)) kv[k] = v;
  return kv;
}

}  // namespace lingmo::cp
