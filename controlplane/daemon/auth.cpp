#include "auth.h"

#include <rapidjson/document.h>

#include "crypto/crypto.h"
#include "crypto/password.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

constexpr const char* kUsers = "lingmo:admin:users";
const std::string kSessionPrefix = "lingmo:admin:session:";
const std::string kFailUser = "lingmo:admin:fail:user:";
const std::string kFailIp = "lingmo:admin:fail:ip:";
const std::string kUserSessions = "lingmo:admin:sessions:";  // set of a user's session hashes

std::string user_json(const std::string& hash, const std::string& role, bool must_change) {
  return "{\"hash\":" + json::quote(hash) + ",\"role\":" + json::quote(role) +
         ",\"must_change\":" + (must_change ? "true" : "false") + "}";
}

}  // namespace

Result<bool> Auth::create_user(const std::string& user, const std::string& password, const std::string& role,
                               bool must_change) {
  auto r = redis_.run({"HSET", kUsers, user, user_json(crypto::hash_password(password), role, must_change)});
  if (!r) return Result<bool>::fail(r.error());
  return true;
}

Result<std::string> Auth::bootstrap() {
  auto n = redis_.run({"HLEN", kUsers});
  if (!n) return Result<std::string>::fail(n.error());
  if (n.value()->integer > 0) return std::string();
  std::string password = cfg_.demo ? kDemoPassword : crypto::random_password(20);
  // HSETNX: two daemons starting together create one account, not two different passwords.
  auto set = redis_.run({"HSETNX", kUsers, "admin", user_json(crypto::hash_password(password), "admin", !cfg_.demo)});
  if (!set) return Result<std::string>::fail(set.error());
  return set.value()->integer == 1 ? password : std::string();
}

std::string Auth::new_session(const std::string& user, const std::string& role, bool must_change, std::string& csrf) {
  std::string token = crypto::to_hex(crypto::random_bytes(32));
  csrf = crypto::to_hex(crypto::random_bytes(16));
  std::string value = "{\"user\":" + json::quote(user) + ",\"role\":" + json::quote(role) + ",\"csrf\":" + json::quote(csrf) +
                      ",\"must_change\":" + (must_change ? "true" : "false") + "}";
  std::string hash = crypto::sha256_hex(token);
  auto r = redis_.run({"SET", kSessionPrefix + hash, value, "EX", std::to_string(cfg_.session_ttl_s)});
  if (!r) return std::string();
  redis_.run({"SADD", kUserSessions + user, hash});
  redis_.run({"EXPIRE", kUserSessions + user, std::to_string(cfg_.session_ttl_s)});  // expired members go with it
  return token;
}

LoginOutcome Auth::login(const std::string& user, const std::string& password, const std::string& ip) {
  LoginOutcome out;
  // Every attempt is counted before the (slow) password check, atomically: parallel guesses
  // cannot all slip under the limit. A success clears the account's counter and takes itself
  // back from the address's. A locked account answers the same whatever the password.
  for (const auto& [key, limit] : {std::pair{kFailUser + user, kUserFailLimit}, std::pair{kFailIp + ip, kIpFailLimit}}) {
    auto n = redis_.run({"INCR", key});
    if (!n) {
      out.kind = LoginOutcome::kStorage;
      out.error = n.error();
      return out;
    }
    if (n.value()->integer == 1) redis_.run({"EXPIRE", key, std::to_string(kFailWindowS)});
    if (n.value()->integer > limit) {
      auto ttl = redis_.run({"TTL", key});
      out.kind = LoginOutcome::kThrottled;
      out.retry_after_s = ttl && ttl.value()->integer > 0 ? static_cast<int>(ttl.value()->integer) : kFailWindowS;
      return out;
    }
  }
  auto stored = redis_.get_string({"HGET", kUsers, user});
  if (!stored) {
    out.kind = LoginOutcome::kStorage;
    out.error = stored.error();
    return out;
  }
  rapidjson::Document d;
  d.Parse(stored.value().c_str());
  // An unknown account costs one scrypt run too (against a fixed hash): no timing difference.
  static const std::string kDummy = crypto::hash_password("lingmo-no-such-account");
  std::string hash = !stored.value().empty() && !d.HasParseError() && d.IsObject() ? json::get_string(d, "hash") : kDummy;
  bool valid = crypto::verify_password(password, hash) && hash != kDummy;
  if (!valid) {
    out.kind = LoginOutcome::kBadCredentials;
    return out;
  }
  redis_.run({"DEL", kFailUser + user});
  redis_.run({"DECR", kFailIp + ip});  // a success is not held against the address
  out.must_change = json::get_bool(d, "must_change", false);
  out.token = new_session(user, json::get_string(d, "role", "admin"), out.must_change, out.csrf);
  if (out.token.empty()) {
    out.kind = LoginOutcome::kStorage;
    out.error = "cannot store the session";
    return out;
  }
  out.kind = LoginOutcome::kOk;
  return out;
}

Result<std::optional<Session>> Auth::session(const std::string& token) {
  using R = Result<std::optional<Session>>;
  if (token.size() != 64) return R(std::optional<Session>());
  std::string key = kSessionPrefix + crypto::sha256_hex(token);
  auto v = redis_.get_string({"GET", key});
  if (!v) return R::fail(v.error());
  if (v.value().empty()) return R(std::optional<Session>());
  rapidjson::Document d;
  d.Parse(v.value().c_str());
  if (d.HasParseError() || !d.IsObject()) return R(std::optional<Session>());
  redis_.run({"EXPIRE", key, std::to_string(cfg_.session_ttl_s)});  // sliding expiry
  return R(Session{json::get_string(d, "user"), json::get_string(d, "role", "admin"), json::get_string(d, "csrf"),
                   json::get_bool(d, "must_change", false), crypto::sha256_hex(token)});
}

void Auth::logout(const Session& s) {
  redis_.run({"DEL", kSessionPrefix + s.token_hash});
  redis_.run({"SREM", kUserSessions + s.user, s.token_hash});
}

Result<bool> Auth::change_password(const Session& s, const std::string& old_password, const std::string& new_password) {
  if (new_password.size() < kMinPasswordLength)
    return Result<bool>::fail("the new password needs at least " + std::to_string(kMinPasswordLength) + " characters");
  if (new_password == old_password) return Result<bool>::fail("the new password must differ from the old one");
  auto stored = redis_.get_string({"HGET", kUsers, s.user});
  if (!stored) return Result<bool>::fail(stored.error());
  rapidjson::Document d;
  d.Parse(stored.value().c_str());
  if (d.HasParseError() || !d.IsObject() || !crypto::verify_password(old_password, json::get_string(d, "hash")))
    return Result<bool>::fail("the current password is wrong");
  if (auto r = create_user(s.user, new_password, json::get_string(d, "role", "admin"), false); !r) return r;
  // Every other session of the account ends (a stolen session dies with the old password); this
  // one continues without the must-change mark.
  if (auto all = redis_.run({"SMEMBERS", kUserSessions + s.user}); all)
    for (size_t i = 0; i < all.value()->elements; ++i) {
      std::string h(all.value()->element[i]->str, all.value()->element[i]->len);
      if (h != s.token_hash) {
        redis_.run({"DEL", kSessionPrefix + h});
        redis_.run({"SREM", kUserSessions + s.user, h});
      }
    }
  std::string value = "{\"user\":" + json::quote(s.user) + ",\"role\":" + json::quote(s.role) + ",\"csrf\":" + json::quote(s.csrf) +
                      ",\"must_change\":false}";
  redis_.run({"SET", kSessionPrefix + s.token_hash, value, "EX", std::to_string(cfg_.session_ttl_s)});
  return true;
}

}  // namespace lingmo::cp
