// Admin accounts, sessions and login throttling, all in Redis (docs/KEY_SCHEMA.md):
//   lingmo:admin:users            hash  user -> {"hash": scrypt record, "must_change": bool, "role"}
//   lingmo:admin:session:<sha256> string {"user","csrf","role"} with EX = session TTL (sliding)
//   lingmo:admin:sessions:<user>  set   the account's session hashes (to end them all), same TTL
//   lingmo:admin:fail:user:<u> / lingmo:admin:fail:ip:<ip>   attempt counters (reset by a success), EX 15 min
// No fixed default password: the first start creates "admin" with a random one-time password
// that must be changed at first login (demo mode: a known password, for offline demos only).
// Session tokens are random 32-byte values; only their SHA-256 is stored.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

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

struct Account {
  std::string name;
  std::string role;
  bool must_change = false;
};

// How an account change made by an admin ended (storage failures are a failed Result instead).
enum class AccountChange {
  kDone,
  kUnchanged,  // it already was so (a role set to the role it has): nothing written, no session ended
  kNotFound,
  kExists,     // create: the name is taken
  kLastAdmin,  // refused: no account with the admin role would be left
};

struct LoginOutcome {
  enum Kind { kOk, kBadCredentials, kThrottled, kStorage } kind = kBadCredentials;
  std::string token, csrf;
  std::string role;  // kOk: admin | viewer
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

  // Account management (api_users.cpp). Every change that can affect a session (role, password,
  // deletion) ends the account's sessions: a session caches the role, and a reset or a deletion
  // must lock out whoever held the old password.
  static bool valid_name(const std::string& name);  // [A-Za-z0-9_.@-]{1,64}, not "." or ".."
  static bool valid_role(const std::string& role);  // admin | viewer
  Result<std::vector<Account>> accounts();
  // New account with a random one-time password (returned in `password`), must_change set.
  Result<AccountChange> add_account(const std::string& name, const std::string& role, std::string& password);
  Result<AccountChange> set_role(const std::string& name, const std::string& role);
  // A new random one-time password (returned in `password`), must_change set.
  Result<AccountChange> reset_password(const std::string& name, std::string& password);
  Result<AccountChange> delete_account(const std::string& name);
  // Ends every session of `user` except the one whose hash is `keep` (empty: all of them).
  Result<bool> end_sessions(const std::string& user, const std::string& keep = {});

 private:
  std::string new_session(const std::string& user, const std::string& role, bool must_change, std::string& csrf);
  // Replaces an account's record with what `next` makes of the stored one ("" deletes it), as a
  // compare-and-set that also refuses to leave no admin; retried when the record changed meanwhile.
  Result<AccountChange> rewrite_account(const std::string& name,
                                        const std::function<Result<std::string>(const std::string& stored)>& next);

  RedisPool& redis_;
  const DaemonConfig& cfg_;
};

inline constexpr const char* kDemoPassword = "lingmo-demo";

}  // namespace lingmo::cp
