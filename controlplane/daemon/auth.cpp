#include "auth.h"

#include <rapidjson/document.h>

#include <cctype>

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

// KEYS[1] = lingmo:admin:users; ARGV = account name, the record the caller read, the record to
// store ("" = delete the account). A compare-and-set: a record that changed since it was read
// answers "changed" (the caller reads again). In the same step it refuses a change that takes
// the admin role from the last account that has it ("last_admin"): two admins demoting each
// other at the same moment cannot both succeed. A record without a string role counts as admin,
// as in login().
constexpr const char* kRewriteScript = R"lua(
local function is_admin(v)
  local ok, r = pcall(cjson.decode, v)
  return ok and type(r) == 'table' and (type(r.role) ~= 'string' or r.role == 'admin')
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 'not_found' end
if cur ~= ARGV[2] then return 'changed' end
if is_admin(cur) and (ARGV[3] == '' or not is_admin(ARGV[3])) then
  local admins = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    if is_admin(v) then admins = admins + 1 end
  end
  if admins < 2 then return 'last_admin' end
end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 'ok'
)lua";

// The stored record's fields (a record that does not parse: role admin, as login() reads it).
struct Record {
  std::string hash, role;
  bool must_change = false;
};

Record parse_record(const std::string& stored) {
  rapidjson::Document d;
  d.Parse(stored.c_str());
  return {json::get_string(d, "hash"), json::get_string(d, "role", "admin"), json::get_bool(d, "must_change", false)};
}

}  // namespace

bool Auth::valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;  // dots alone: URL path segments
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '@' || c == '-')) return false;
  return true;
}

bool Auth::valid_role(const std::string& role) { return role == "admin" || role == "viewer"; }

Result<std::vector<Account>> Auth::accounts() {
  auto all = redis_.hgetall(kUsers);
  if (!all) return Result<std::vector<Account>>::fail(all.error());
  std::vector<Account> out;
  for (const auto& [name, stored] : all.value()) {
    Record r = parse_record(stored);
    out.push_back({name, r.role, r.must_change});
  }
  return out;
}

Result<AccountChange> Auth::add_account(const std::string& name, const std::string& role, std::string& password) {
  password = crypto::random_password(20);
  // HSETNX: of two creations of one name, one wins; the other is told the name is taken.
  auto set = redis_.run({"HSETNX", kUsers, name, user_json(crypto::hash_password(password), role, true)});
  if (!set) return Result<AccountChange>::fail(set.error());
  if (set.value()->integer == 0) {
    password.clear();
    return AccountChange::kExists;
  }
  return AccountChange::kDone;
}

Result<AccountChange> Auth::rewrite_account(const std::string& name,
                                            const std::function<Result<std::string>(const std::string& stored)>& next) {
  using R = Result<AccountChange>;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto stored = redis_.get_string({"HGET", kUsers, name});
    if (!stored) return R::fail(stored.error());
    if (stored.value().empty()) return AccountChange::kNotFound;
    auto record = next(stored.value());
    if (!record) return R::fail(record.error());
    if (record.value() == stored.value()) return AccountChange::kUnchanged;
    auto r = redis_.run({"EVAL", kRewriteScript, "1", kUsers, name, stored.value(), record.value()});
    if (!r) return R::fail(r.error());
    std::string outcome(r.value()->str ? r.value()->str : "", r.value()->str ? r.value()->len : 0);
    if (outcome == "ok") return AccountChange::kDone;
    if (outcome == "not_found") return AccountChange::kNotFound;
    if (outcome == "last_admin") return AccountChange::kLastAdmin;
    // "changed": another change came in between; read it and decide again.
  }
  return R::fail("the account is being changed by another request; try again");
}

Result<AccountChange> Auth::set_role(const std::string& name, const std::string& role) {
  auto done = rewrite_account(name, [&](const std::string& stored) -> Result<std::string> {
    Record r = parse_record(stored);
    return r.role == role ? stored : user_json(r.hash, role, r.must_change);
  });
  if (done && done.value() == AccountChange::kDone)
    if (auto ended = end_sessions(name); !ended) return Result<AccountChange>::fail(ended.error());
  return done;
}

Result<AccountChange> Auth::reset_password(const std::string& name, std::string& password) {
  password = crypto::random_password(20);
  std::string hash = crypto::hash_password(password);
  auto done = rewrite_account(name, [&](const std::string& stored) -> Result<std::string> {
    return user_json(hash, parse_record(stored).role, true);
  });
  if (!done || done.value() != AccountChange::kDone) {
    password.clear();
    return done;
  }
  if (auto ended = end_sessions(name); !ended) return Result<AccountChange>::fail(ended.error());
  return done;
}

Result<AccountChange> Auth::delete_account(const std::string& name) {
  auto done = rewrite_account(name, [](const std::string&) -> Result<std::string> { return std::string(); });
  if (done && done.value() == AccountChange::kDone)
    if (auto ended = end_sessions(name); !ended) return Result<AccountChange>::fail(ended.error());
  return done;
}

Result<bool> Auth::end_sessions(const std::string& user, const std::string& keep) {
  auto all = redis_.run({"SMEMBERS", kUserSessions + user});
  if (!all) return Result<bool>::fail(all.error());
  for (size_t i = 0; i < all.value()->elements; ++i) {
    std::string h(all.value()->element[i]->str, all.value()->element[i]->len);
    if (h == keep) continue;
    if (auto del = redis_.run({"DEL", kSessionPrefix + h}); !del) return Result<bool>::fail(del.error());
    redis_.run({"SREM", kUserSessions + user, h});
  }
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
  out.role = json::get_string(d, "role", "admin");
  out.token = new_session(user, out.role, out.must_change, out.csrf);
  if (out.token.empty()) {
    out.kind = LoginOutcome::kStorage;
    out.error = "cannot store the session";
    return out;
  }
  // A password reset, deletion or role change that came in during the password check ends the
  // sessions listed in the account's set, and this one is listed only now: read the record again,
  // and give the session up if it changed (the caller may log in again).
  if (auto again = redis_.get_string({"HGET", kUsers, user}); !again || again.value() != stored.value()) {
    std::string hash = crypto::sha256_hex(out.token);
    redis_.run({"DEL", kSessionPrefix + hash});
    redis_.run({"SREM", kUserSessions + user, hash});
    out.token.clear();
    out.csrf.clear();
    out.kind = again ? LoginOutcome::kBadCredentials : LoginOutcome::kStorage;
    if (!again) out.error = again.error();
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
  std::string user = json::get_string(d, "user");
  // The account's set of sessions slides with it: a session kept alive past SESSION_TTL after its
  // login must still be found (and ended) by a password change, reset or deletion.
  redis_.run({"EXPIRE", kUserSessions + user, std::to_string(cfg_.session_ttl_s)});
  return R(Session{user, json::get_string(d, "role", "admin"), json::get_string(d, "csrf"),
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
  // A compare-and-set, not a plain HSET: an account deleted (or reset) by an admin during the
  // password check must not come back with the password this session chose.
  auto done = rewrite_account(s.user, [&](const std::string& stored) -> Result<std::string> {
    rapidjson::Document d;
    d.Parse(stored.c_str());
    if (d.HasParseError() || !d.IsObject() || !crypto::verify_password(old_password, json::get_string(d, "hash")))
      return Result<std::string>::fail("the current password is wrong");
    return user_json(crypto::hash_password(new_password), json::get_string(d, "role", "admin"), false);
  });
  if (!done) return Result<bool>::fail(done.error());
  if (done.value() == AccountChange::kNotFound) return Result<bool>::fail("this account no longer exists");
  // Every other session of the account ends (a stolen session dies with the old password); this
  // one continues without the must-change mark.
  end_sessions(s.user, s.token_hash);
  std::string value = "{\"user\":" + json::quote(s.user) + ",\"role\":" + json::quote(s.role) + ",\"csrf\":" + json::quote(s.csrf) +
                      ",\"must_change\":false}";
  redis_.run({"SET", kSessionPrefix + s.token_hash, value, "EX", std::to_string(cfg_.session_ttl_s)});
  return true;
}

}  // namespace lingmo::cp
