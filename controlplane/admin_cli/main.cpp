// lingmo-admin: seeds and inspects the gateway's configuration in Redis through the shared key
// schema (shared/config/schema.h). Every config write bumps lingmo:config:version and publishes on
// lingmo:events, so running nginx workers pick it up within a second without a reload.
// Secrets: vendor keys are sealed with the secret key before they leave this process; gateway
// keys are printed once and stored only as SHA-256.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <iostream>
#include <sys/stat.h>

#include "config/schema.h"
#include "config/snapshot.h"
#include "crypto/crypto.h"
#include "redis_sync.h"
#include "quota/rules.h"
#include "vendors/templates.h"
#include "usage/ledger.h"

using namespace lingmo;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "lingmo-admin: " << msg << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error());
  return std::move(r.value());
}

struct Globals {
  std::string redis = "127.0.0.1:6379";
  std::string redis_password;
  int redis_db = 0;
  std::string redis_sentinels;  // set: --redis is not used, the master is found through these
  std::string redis_master;
  std::string redis_sentinel_password;
  std::string secret_file;
};

std::unique_ptr<cli::RedisSync> open_redis(const Globals& g) {
  cli::RedisAddress addr;
  if (!g.redis_sentinels.empty()) {
    must(addr.use_sentinels(g.redis_sentinels, g.redis_master), "--redis-sentinels");
    addr.sentinel_password = g.redis_sentinel_password;
  } else {
    addr = must(cli::RedisAddress::parse(g.redis), "--redis");
  }
  addr.password = g.redis_password;
  addr.db = g.redis_db;
  return must(cli::RedisSync::connect(addr), "redis");
}

crypto::SecretKey load_secret(const Globals& g) {
  if (!g.secret_file.empty()) return must(crypto::SecretKey::load_file(g.secret_file), "secret");
  if (const char* env = std::getenv("ENCRYPT_KEY")) return must(crypto::SecretKey::parse(env), "ENCRYPT_KEY");
  die("a secret key is needed: pass --secret-file or set ENCRYPT_KEY");
}

void notify_change(cli::RedisSync& r, const char* what) {
  must(r.run({"INCR", schema::kConfigVersion}), "INCR version");
  must(r.run({"PUBLISH", schema::kEventsChannel, what}), "PUBLISH");
}

std::string mask(const std::string& s) { return s.size() <= 8 ? "****" : s.substr(0, 4) + "..." + s.substr(s.size() - 4); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lingmo-admin: manage LingMo Gateway providers and keys in Redis"};
  app.require_subcommand(1);
  Globals g;
  app.add_option("--redis", g.redis, "Redis address: host:port or unix:/path")->envname("LINGMO_REDIS");
  app.add_option("--redis-password", g.redis_password, "Redis password")->envname("LINGMO_REDIS_PASSWORD");
  app.add_option("--redis-db", g.redis_db, "Redis database number")->envname("LINGMO_REDIS_DB");
  app.add_option("--redis-sentinels", g.redis_sentinels, "Redis Sentinels host:port,... to find the master through (then --redis is not used)")
      ->envname("LINGMO_REDIS_SENTINELS");
  app.add_option("--redis-master", g.redis_master, "the master name the sentinels monitor")->envname("LINGMO_REDIS_MASTER");
  app.add_option("--redis-sentinel-password", g.redis_sentinel_password, "password of the sentinels")
      ->envname("LINGMO_REDIS_SENTINEL_PASSWORD");
  app.add_option("--secret-file", g.secret_file, "file holding the 256-bit secret key (else $ENCRYPT_KEY)")
      ->envname("LINGMO_SECRET_FILE");

  // gen-secret
  auto* gen = app.add_subcommand("gen-secret", "write a new random 256-bit secret key file (mode 0600)");
  std::string gen_path;
  bool gen_force = false, gen_rotate = false;
  gen->add_option("file", gen_path, "where to write it")->required();
  gen->add_flag("--force", gen_force, "overwrite an existing file");
  gen->add_flag("--rotate", gen_rotate, "put a new key first in an existing key file, keeping the old ones "
                                        "(then reload nginx, restart the daemon, run rotate-secret)");
  gen->callback([&] {
    struct stat st {};
    bool exists = stat(gen_path.c_str(), &st) == 0;
    std::string keep;
    if (gen_rotate) {
      if (!exists) die(gen_path + " does not exist: nothing to rotate");
      auto current = must(crypto::SecretKey::load_file(gen_path), "secret");  // the old keys must be readable
      std::ifstream in(gen_path);
      std::stringstream ss;
      ss << in.rdbuf();
      keep = ss.str();
      if (current.previous_count() == 0 && keep.find('\n') == std::string::npos) keep = current.hex() + "\n";
    } else if (!gen_force && exists) {
      die(gen_path + " exists (use --force to overwrite, or --rotate to add a new key)");
    }
    umask(077);
    std::string tmp = gen_path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      if (!f) die("cannot write " + tmp);
      auto fresh = crypto::SecretKey::generate();
      f << fresh.hex() << "\n" << keep;
      if (!f.flush()) die("cannot write " + tmp);
      if (gen_rotate) std::cout << "new key " << fresh.id() << " added first to " << gen_path << "\n";
    }
    if (std::rename(tmp.c_str(), gen_path.c_str()) != 0) die("cannot replace " + gen_path);  // never a half-written key file
    if (!gen_rotate) std::cout << "secret key written to " << gen_path << "\n";
  });

  // rotate-secret
  auto* rot = app.add_subcommand("rotate-secret", "re-seal every stored vendor key with the first key of the key file");
  rot->callback([&] {
    auto key = load_secret(g);
    auto r = open_redis(g);
    int resealed = 0, current = 0;
    for (const auto& [id, json] : must(r->hgetall(schema::kProviders), "HGETALL")) {
      auto p = must(schema::provider_from_json(json), "provider " + id);
      if (p.api_key_sealed.empty() || !key.is_stale(p.api_key_sealed)) {
        ++current;
        continue;
      }
      auto plain = key.decrypt(p.api_key_sealed, p.id);
      if (!plain) die("provider " + id + ": " + plain.error() + " (is the old key still in the key file?)");
      p.api_key_sealed = key.encrypt(plain.value(), p.id);
      must(r->run({"HSET", schema::kProviders, id, schema::to_json(p)}), "HSET");
      ++resealed;
    }
    if (resealed) notify_change(*r, "provider");
    std::cout << resealed << " vendor key(s) re-sealed with key " << key.id() << ", " << current
              << " already current; once every nginx and daemon uses this key file, the old lines can go\n";
  });

  // provider ...
  auto* prov = app.add_subcommand("provider", "manage vendor providers");
  prov->require_subcommand(1);
  config::Provider np;
  std::string api_key, api_key_env;
  std::vector<std::string> models, headers, quotas, renames;
  bool disabled = false;
  auto* padd = prov->add_subcommand("add", "add or replace a provider");
  padd->add_option("--id", np.id, "provider id, e.g. deepseek-main")->required();
  padd->add_option("--name", np.name, "display name");
  padd->add_option("--vendor", np.vendor, "vendor template id, e.g. deepseek");
  std::string template_id;
  bool free_tier = false;
  padd->add_option("--template", template_id, "prefill from a vendor template (see `lingmo-admin templates`)");
  padd->add_flag("--free-tier", free_tier, "with --template: add the template's documented free-tier quota rules");
  padd->add_option("--base-url", np.base_url, "OpenAI-compatible base URL, e.g. https://api.deepseek.com/v1");
  padd->add_option("--api-key", api_key, "vendor API key (prefer --api-key-env: argv is visible to other users)");
  padd->add_option("--api-key-env", api_key_env, "name of an environment variable holding the vendor API key");
  padd->add_option("--model", models, "model the provider serves: NAME or NAME=VENDOR_MODEL_ID (repeatable; first = default)");
  padd->add_option("--priority", np.priority, "lower is tried first (default 100)");
  padd->add_option("--proxy", np.proxy, "outbound proxy URL: http://, https://, socks5://, socks5h://");
  padd->add_option("--header", headers, "extra request header NAME:VALUE (repeatable)");
  padd->add_flag("--disabled", disabled, "store it disabled");
  padd->add_option("--quota", quotas,
                   "free quota rule METRIC/WINDOW=LIMIT[@ZONE][:MODEL], e.g. requests/day=1500@America/Los_Angeles, "
                   "total_tokens/oneoff=1000000:qwen-plus (repeatable; docs/QUOTA.md)");
  padd->add_option("--drop-param", np.drop_params, "request field this vendor rejects (repeatable)");
  padd->add_option("--rename-param", renames, "FROM=TO: request field this vendor calls otherwise (repeatable)");
  auto* dialect_opt = padd->add_option("--dialect", np.dialect, "wire dialect of the vendor: openai (default), anthropic or "
                                       "gemini; with --template, overrides the template's (e.g. a vendor's Anthropic endpoint)")
      ->check(CLI::IsMember({"openai", "anthropic", "gemini"}));
  padd->add_option("--max-output-tokens", np.max_output_tokens, "the vendor's output ceiling: larger max_tokens asks are clamped");
  padd->add_flag("--replay-reasoning", np.replay_reasoning, "send earlier reasoning back as reasoning_content (DeepSeek thinking)");
  padd->add_flag("--responses-api", np.responses_api, "the vendor serves the Responses API itself: /v1/responses passes through");
  padd->add_option("--price-input", np.price_input, "price per 1M prompt tokens (for cost/... quota rules)");
  padd->add_option("--price-output", np.price_output, "price per 1M completion tokens");
  padd->add_option("--threshold", np.threshold, "switch away at this share of a quota, e.g. 0.95 (default: the global setting)")
      ->check(CLI::Range(0.0, 1.0));
  padd->callback([&] {
    if (!api_key_env.empty()) {
      const char* v = std::getenv(api_key_env.c_str());
      if (!v) die("environment variable " + api_key_env + " is not set");
      api_key = v;
    }
    np.enabled = !disabled;
    if (np.name.empty()) np.name = np.id;
    for (const auto& m : models) {
      auto eq = m.find('=');
      np.models.push_back(eq == std::string::npos ? config::ModelMapping{m, m} : config::ModelMapping{m.substr(0, eq), m.substr(eq + 1)});
    }
    for (const auto& q : quotas) np.quotas.push_back(must(quota::parse_rule_spec(q), "--quota"));
    for (const auto& r : renames) {
      auto eq = r.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) die("--rename-param needs FROM=TO");
      np.rename_params[r.substr(0, eq)] = r.substr(eq + 1);
    }
    if (!template_id.empty()) {
      const vendors::Template* t = vendors::TemplateTable::builtin().find(template_id);
      if (!t) die("no vendor template \"" + template_id + "\" (see lingmo-admin templates)");
      std::string dialect = np.dialect;
      np = must(vendors::apply(*t, np, free_tier), "--template");
      if (dialect_opt->count()) np.dialect = dialect;
    } else if (free_tier) {
      die("--free-tier needs --template");
    }
    if (np.base_url.empty()) die("--base-url is required (or --template)");
    if (np.models.empty()) die("at least one --model is required (or --template)");
    for (const auto& h : headers) {
      auto colon = h.find(':');
      if (colon == std::string::npos) die("--header needs NAME:VALUE");
      np.headers[h.substr(0, colon)] = h.substr(colon + 1);
    }
    if (!schema::valid_id(np.id)) die("invalid --id (use 1-64 of A-Z a-z 0-9 _ . -)");
    if (!api_key.empty()) np.api_key_sealed = load_secret(g).encrypt(api_key, np.id);
    std::string json = schema::to_json(np);
    must(schema::provider_from_json(json), "provider");  // same validation the data plane applies
    auto r = open_redis(g);
    must(r->run({"HSET", schema::kProviders, np.id, json}), "HSET");
    notify_change(*r, "provider");
    std::cout << "provider " << np.id << " saved\n";
  });
  std::string pid;
  auto pset_enabled = [&](const char* name, bool value) {
    auto* c = prov->add_subcommand(name, std::string(value ? "enable" : "disable") + " a provider");
    c->add_option("id", pid)->required();
    c->callback([&, value] {
      auto r = open_redis(g);
      auto rep = must(r->run({"HGET", schema::kProviders, pid}), "HGET");
      if (rep->type != REDIS_REPLY_STRING) die("no provider " + pid);
      auto p = must(schema::provider_from_json(std::string(rep->str, rep->len)), "stored provider");
      p.enabled = value;
      must(r->run({"HSET", schema::kProviders, pid, schema::to_json(p)}), "HSET");
      notify_change(*r, "provider");
      std::cout << "provider " << pid << (value ? " enabled\n" : " disabled\n");
    });
    return c;
  };
  pset_enabled("enable", true);
  pset_enabled("disable", false);
  auto* prm = prov->add_subcommand("remove", "delete a provider");
  prm->add_option("id", pid)->required();
  prm->callback([&] {
    auto r = open_redis(g);
    auto rep = must(r->run({"HDEL", schema::kProviders, pid}), "HDEL");
    if (rep->integer == 0) die("no provider " + pid);
    r->run({"HDEL", schema::kProviderState, pid});
    notify_change(*r, "provider");
    std::cout << "provider " << pid << " removed\n";
  });
  auto* plist = prov->add_subcommand("list", "list providers (keys masked)");
  plist->callback([&] {
    auto r = open_redis(g);
    auto all = must(r->hgetall(schema::kProviders), "HGETALL");
    auto set = config::Snapshot::build_config(0, all, {}, nullptr);
    for (const auto& p : set->providers)
      std::cout << p.cfg.id << "\tpriority=" << p.cfg.priority << "\t" << (p.cfg.enabled ? "enabled" : "disabled") << "\t"
                << p.cfg.base_url << "\tkey=" << (p.cfg.api_key_sealed.empty() ? "(none)" : "sealed:" + mask(p.cfg.api_key_sealed))
                << "\tmodels=" << p.cfg.models.size() << "\n";
    for (const auto& w : set->warnings)
      if (w.find("no secret key") == std::string::npos) std::cerr << "warning: " << w << "\n";
  });

  // key ...
  auto* key = app.add_subcommand("key", "manage gateway keys (what clients send as Bearer)");
  key->require_subcommand(1);
  config::GatewayKey nk;
  std::string secret;
  auto* kadd = key->add_subcommand("add", "create a gateway key; prints the secret once");
  kadd->add_option("--name", nk.name, "label");
  kadd->add_option("--model", nk.models, "allowed client model name (repeatable; default: all)");
  kadd->add_option("--secret", secret, "use this secret instead of a random one (demo and tests)");
  kadd->callback([&] {
    if (secret.empty()) secret = "lm-" + crypto::to_hex(crypto::random_bytes(24));
    if (secret.size() < 8) die("a gateway key secret must be at least 8 characters");
    nk.hash = crypto::sha256_hex(secret);
    nk.id = nk.hash.substr(0, 8);
    auto r = open_redis(g);
    must(r->run({"HSET", schema::kGatewayKeys, nk.hash, schema::to_json(nk)}), "HSET");
    notify_change(*r, "key");
    std::cout << secret << "\n";
    std::cerr << "key id " << nk.id << " created; the secret above is not stored and will not be shown again\n";
  });
  auto* klist = key->add_subcommand("list", "list gateway keys (ids only)");
  klist->callback([&] {
    auto r = open_redis(g);
    for (const auto& [hash, json] : must(r->hgetall(schema::kGatewayKeys), "HGETALL")) {
      auto k = schema::gateway_key_from_json(hash, json);
      if (k) std::cout << k->id << "\t" << k->name << "\t" << (k->enabled ? "enabled" : "disabled") << "\tmodels=" << k->models.size() << "\n";
    }
  });
  std::string which;
  auto* krev = key->add_subcommand("revoke", "revoke a gateway key by its secret or its id");
  krev->add_option("key", which)->required();
  krev->callback([&] {
    auto r = open_redis(g);
    std::string target;
    for (const auto& [hash, json] : must(r->hgetall(schema::kGatewayKeys), "HGETALL"))
      if (hash == crypto::sha256_hex(which) || hash.substr(0, 8) == which) target = hash;
    if (target.empty()) die("no such key");
    must(r->run({"HDEL", schema::kGatewayKeys, target}), "HDEL");
    notify_change(*r, "key");
    std::cout << "key " << target.substr(0, 8) << " revoked\n";
  });

  // state ...
  auto* state = app.add_subcommand("state", "mark providers unusable for a while (observed state)");
  state->require_subcommand(1);
  int seconds = 0;
  std::string reason;
  auto* park = state->add_subcommand("park", "skip a provider for N seconds");
  park->add_option("id", pid)->required();
  park->add_option("--seconds", seconds, "how long")->required();
  park->add_option("--reason", reason, "why (shown in logs and errors)");
  park->callback([&] {
    auto r = open_redis(g);
    config::ProviderState s{now_ms() + int64_t(seconds) * 1000, reason, "admin", ""};
    must(r->run({"HSET", schema::kProviderState, pid, schema::to_json(s)}), "HSET");
    must(r->run({"PUBLISH", schema::kEventsChannel, "state"}), "PUBLISH");
    std::cout << "provider " << pid << " parked for " << seconds << "s\n";
  });
  auto* clear = state->add_subcommand("clear", "make a provider usable again now: drops its park and resets "
                                                 "every worker's circuit breaker for it ('*' = all providers)");
  clear->add_option("id", pid)->required();
  clear->callback([&] {
    auto r = open_redis(g);
    if (pid == "*")
      must(r->run({"DEL", schema::kProviderState}), "DEL");
    else
      must(r->run({"HDEL", schema::kProviderState, pid}), "HDEL");
    must(r->run({"PUBLISH", schema::kEventsChannel, std::string(schema::kClearPrefix) + pid}), "PUBLISH");
    std::cout << (pid == "*" ? std::string("all providers") : "provider " + pid) << " cleared\n";
  });

  // templates
  auto* tlist = app.add_subcommand("templates", "list the built-in vendor templates");
  std::string tshow;
  tlist->add_option("id", tshow, "show one template in full");
  tlist->callback([&] {
    for (const auto& t : vendors::TemplateTable::builtin().all()) {
      if (!tshow.empty() && t.id != tshow) continue;
      std::cout << t.id << "\t" << t.name << "\t" << t.dialect << "\t" << t.base_url << "\n";
      if (tshow.empty()) continue;
      std::cout << "  models:";
      for (const auto& m : t.models) std::cout << " " << m.name;
      std::cout << "\n  free tier (" << (t.free_tier_documented ? "documented" : "not documented") << " " << t.free_tier_source
                << "): " << t.free_tier_note << "\n";
      for (const auto& q : t.free_tier_quotas) std::cout << "    --quota " << q << "\n";
      if (!t.quirk_notes.empty()) std::cout << "  quirks: " << t.quirk_notes << "\n";
      std::cout << "  balance API: " << t.balance_kind << (t.balance_url.empty() ? "" : " " + t.balance_url) << "\n";
    }
  });

  // settings
  auto* settings = app.add_subcommand("settings", "system settings: threshold, auto_switch, pin");
  settings->require_subcommand(1);
  std::string skey, svalue;
  auto* sset = settings->add_subcommand("set", "set a setting (takes effect within a second, no reload)");
  sset->add_option("key", skey, "threshold (0-1, default 0.99) | auto_switch (on|off) | pin (provider id, '' = none) | "
                               "warn_levels (alert shares, default 0.8,0.95)")
      ->required()->check(CLI::IsMember({"threshold", "auto_switch", "pin", "warn_levels"}));
  sset->add_option("value", svalue)->required();
  sset->callback([&] {
    if (skey == "threshold") {
      char* end = nullptr;
      double t = std::strtod(svalue.c_str(), &end);
      if (!end || *end || !(t > 0 && t <= 1)) die("threshold must be a number in (0, 1]");
    }
    if (skey == "auto_switch" && svalue != "on" && svalue != "off") die("auto_switch is on or off");
    if (skey == "warn_levels") {
      std::vector<std::string> w;
      schema::settings_from_hash({{"warn_levels", svalue}}, &w);
      if (!w.empty()) die(w.front());
    }
    auto r = open_redis(g);
    if (skey == "pin" && svalue.empty())
      must(r->run({"HDEL", schema::kSettings, "pin"}), "HDEL");
    else
      must(r->run({"HSET", schema::kSettings, skey, skey == "auto_switch" ? (svalue == "on" ? "1" : "0") : svalue}), "HSET");
    notify_change(*r, "settings");
    std::cout << skey << " = " << svalue << "\n";
  });
  auto* sshow = settings->add_subcommand("show", "print the settings in force");
  sshow->callback([&] {
    auto r = open_redis(g);
    std::vector<std::string> warnings;
    auto s = schema::settings_from_hash(must(r->hgetall(schema::kSettings), "HGETALL"), &warnings);
    std::cout << "threshold=" << s.threshold << " auto_switch=" << (s.auto_switch ? "on" : "off")
              << " pin=" << (s.pin.empty() ? "(none)" : s.pin) << " warn_levels=";
    for (size_t i = 0; i < s.warn_levels.size(); ++i) std::cout << (i ? "," : "") << s.warn_levels[i];
    std::cout << "\n";
    for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  });

  // quota
  auto* qshow = app.add_subcommand("quota", "show a provider's quota rules and the current window counters");
  qshow->add_option("id", pid)->required();
  qshow->callback([&] {
    auto r = open_redis(g);
    auto rep = must(r->run({"HGET", schema::kProviders, pid}), "HGET");
    if (rep->type != REDIS_REPLY_STRING) die("no provider " + pid);
    auto p = must(schema::provider_from_json(std::string(rep->str, rep->len)), "stored provider");
    for (size_t i = 0; i < p.quotas.size(); ++i) {
      const auto& q = p.quotas[i];
      auto zone = must(quota::TimeZone::load(q.tz), "zone");
      auto span = q.span(now_ms() / 1000, *zone);
      auto h = must(r->hgetall(quota::counter_key(pid, i, span.id)), "HGETALL");
      std::string field = quota::counter_field(q.metric);
      std::string used = h.count(field) ? h[field] : "0";
      if (q.metric == "cost") used = std::to_string(std::atoll(used.c_str()) / 1e6);
      std::cout << i << "\t" << q.describe() << "\twindow=" << span.id << "\tused=" << used << "\n";
    }
  });

  // usage
  auto* usage = app.add_subcommand("usage", "show a provider's usage counters for a UTC day");
  std::string day;
  usage->add_option("id", pid)->required();
  usage->add_option("--day", day, "YYYY-MM-DD (default: today, UTC)");
  usage->callback([&] {
    if (day.empty()) day = usage::utc_day(now_ms());
    auto r = open_redis(g);
    auto h = must(r->hgetall(schema::usage_key(pid, day)), "HGETALL");
    std::cout << "{";
    bool first = true;
    for (const char* f : usage::kFields) {
      auto it = h.find(f);
      std::cout << (first ? "" : ",") << "\"" << f << "\":" << (it == h.end() ? "0" : it->second);
      first = false;
    }
    std::cout << "}\n";
  });

  CLI11_PARSE(app, argc, argv);
  return 0;
}
