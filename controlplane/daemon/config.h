// The daemon's settings: defaults, then a config file (KEY=VALUE lines, # comments), then the
// environment (same names), then command-line flags. Names follow the brief's deployment
// settings: API_PORT (8000), ENCRYPT_KEY, plus REDIS_* and the rest below.
#pragma once
#include <map>
#include <string>

#include "redis_sync.h"
#include "util/result.h"

namespace lingmo::cp {

struct DaemonConfig {
  std::string listen = "127.0.0.1";  // API_LISTEN
  int port = 8000;                   // API_PORT
  std::string redis = "127.0.0.1:6379";  // REDIS_ADDR: host:port or unix:/path
  std::string redis_password;        // REDIS_PASSWORD
  int redis_db = 0;                  // REDIS_DB
  std::string redis_sentinels;       // REDIS_SENTINELS: host:port,... of Redis Sentinels; when set, REDIS_ADDR is
                                     // not used: the master named REDIS_MASTER is found through them (SCALING.md)
  std::string redis_master;          // REDIS_MASTER: that name
  std::string redis_sentinel_password;  // REDIS_SENTINEL_PASSWORD: AUTH on the sentinels
  std::string secret_file;           // SECRET_FILE: the 256-bit key that seals vendor keys
  std::string encrypt_key;           // ENCRYPT_KEY: the same key inline (hex or base64)
  int session_ttl_s = 12 * 3600;     // SESSION_TTL: idle sessions expire after this
  bool demo = false;                 // DEMO_MODE: fixed demo password instead of a one-time one
  std::string allowed_origins;       // ALLOWED_ORIGINS: comma list for CORS (the UI's origin when served elsewhere)
  int threads = 8;                   // API_THREADS: HTTP worker threads
  int sample_interval_s = 60;        // QUOTA_SAMPLE_INTERVAL: how often quota counters are sampled (burn rates)
  int balance_interval_s = 300;      // BALANCE_SYNC_INTERVAL: how often vendor balances are read; 0 = only on demand
  std::string outbound_allow;        // OUTBOUND_ALLOW: CIDRs the connectivity test may reach although internal
                                     // (e.g. 127.0.0.0/8 for a local Ollama); everything internal is refused otherwise
  std::string web_root;              // WEB_ROOT: the built web console (controlplane/web/dist); "" = search the
                                     // usual places (web_static.h), "off" = no console

  // Applies KEY=VALUE settings; unknown keys are an error (a typo must not pass silently).
  Result<bool> apply(const std::map<std::string, std::string>& kv);
  // Where Redis is, from REDIS_ADDR or the REDIS_SENTINELS form, with password and db.
  Result<cli::RedisAddress> redis_address() const;
};

Result<std::map<std::string, std::string>> read_config_file(const std::string& path);
std::map<std::string, std::string> config_from_env();

}  // namespace lingmo::cp
