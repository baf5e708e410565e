// Admin accounts, sessions and login throttling, all in Redis (docs/KEY_SCHEMA.md):
//   lingmo:admin:users            hash  user -> {"hash": scrypt record, "must_change": bool, "role"}
//   lingmo:admin:session:<sha256> string {"user","csrf","role"} with EX = session TTL (sliding)
//   lingmo:admin:fail:user:<u> / lingmo:admin:fail:ip:<ip>   attempt counters (reset by a success), EX 15 min
// No fixed default password: the first start creates "admin" with a random one-time password
// that must be changed at first login (demo mode: a known password, for offline demos only).
// Session tokens are random 32-byte values; only their SHA-256 is stored.
#pragma once
#include <optional>
#include <string>

#include "config.h"
#include "redis_pool.h"

namespace lingmo::cp {

struct Session {
  std::string user;
  std::string role;  // admin (full access) | viewer (read only)
  std::string csrf;  // must accompany cookie-authenticated changes (X-CSRF-Token)
  bool must_change = false;
  std::string token_hash;
};

struct LoginOutcome {
  enum Kind { kOk, kBadCredentials, kThrottled, kStorage } kind = kBadCredentials;
  std::string token, csrf;
  bool must_change = false;
  int retry_after_s = 0;  // kThrottled
  std::string error;      // kStorage
};

class Auth {
 public:
  static constexpr int kUserFailLimit = 5;   // failed attempts per account per window
  static constexpr int kIpFailLimit = 20;    // failed attempts per client address per window
  static constexpr int kFailWindowS = 900;
  static constexpr size_t kMinPasswordLength = 10;

  Auth(RedisPool& redis, const DaemonConfig& cfg) : redis_(redis), cfg_(cfg) {}

  // Creates the first admin account when there is none. Returns the password to show once
  // (empty when accounts exist).
  Result<std::string> bootstrap();
  LoginOutcome login(const std::string& user, const std::string& password, const std::string& ip);
  // The session of a token (refreshing its TTL); nullopt if there is none; an error if Redis failed.
  Result<std::optional<Session>> session(const std::string& token);
  void logout(const Session& s);
  // Checks the old password and stores the new one; clears must_change.
  Result<bool> change_password(const Session& s, const std::string& old_password, const std::string& new_password);
  Result<bool> create_user(const std::string& user, const std::string& password, const std::string& role, bool must_change);

 private:
  std::string new_session(const std::string& user, const std::string& role, bool must_change, std::string& csrf);

  RedisPool& redis_;
  const DaemonConfig& cfg_;
};

inline constexpr const char* kDemoPassword = "lingmo-demo";

}  // namespace lingmo::cp
