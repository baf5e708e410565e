// lingmo-controld: the control-plane daemon (admin REST API). Configuration from a file, the
// environment and flags (config.h); logs through spdlog (never a secret: the one-time admin
// password goes to stdout once, not to the log); SIGTERM/SIGINT stop it gracefully (requests in
// flight finish, then it exits 0). Signals are taken by a dedicated thread (sigwait), so no
// server code runs inside a signal handler.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <pthread.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "api.h"
#include "alert_digest.h"
#include "alerts.h"
#include "balance_sync.h"
#include "outbound.h"
#include "quota_view.h"
#include "web_static.h"

using namespace lingmo;

namespace {

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"lingmo-controld: LingMo Gateway control plane (admin REST API)"};
  std::string config_file;
  std::map<std::string, std::string> flags;
  std::string listen, redis, redis_password, secret_file, redis_sentinels, redis_master;
  int port = -1;
  bool demo = false;
  cli.add_option("--config", config_file, "KEY=VALUE settings file (docs/API.md lists the keys)")->envname("LINGMO_CONTROLD_CONFIG");
  cli.add_option("--listen", listen, "address to listen on (API_LISTEN, default 127.0.0.1)");
  cli.add_option("--port", port, "port (API_PORT, default 8000)");
  cli.add_option("--redis", redis, "Redis host:port or unix:/path (REDIS_ADDR)");
  cli.add_option("--redis-password", redis_password, "Redis password (REDIS_PASSWORD; prefer the environment)");
  cli.add_option("--redis-sentinels", redis_sentinels, "Redis Sentinels host:port,... to find the master through (REDIS_SENTINELS)");
  cli.add_option("--redis-master", redis_master, "the master name the sentinels monitor (REDIS_MASTER)");
  cli.add_option("--secret-file", secret_file, "file with the 256-bit key sealing vendor keys (SECRET_FILE; or ENCRYPT_KEY)");
  cli.add_flag("--demo", demo, "demo mode: the first admin account gets the known password lingmo-demo (DEMO_MODE)");
  CLI11_PARSE(cli, argc, argv);

  // SIGTERM/SIGINT are blocked before any thread starts (delivery workers, HTTP pool): every
  // thread inherits the mask, and only the waiter below takes them, with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // inherited by every thread started below

  cp::DaemonConfig cfg;
  if (!config_file.empty()) {
    auto kv = cp::read_config_file(config_file);
    if (!kv) return std::cerr << "lingmo-controld: " << kv.error() << "\n", 2;
    if (auto ok = cfg.apply(kv.value()); !ok) return std::cerr << "lingmo-controld: " << config_file << ": " << ok.error() << "\n", 2;
  }
  if (auto ok = cfg.apply(cp::config_from_env()); !ok) return std::cerr << "lingmo-controld: environment: " << ok.error() << "\n", 2;
  if (!listen.empty()) flags["API_LISTEN"] = listen;
  if (port >= 0) flags["API_PORT"] = std::to_string(port);
  if (!redis.empty()) flags["REDIS_ADDR"] = redis;
  if (!redis_password.empty()) flags["REDIS_PASSWORD"] = redis_password;
  if (!redis_sentinels.empty()) flags["REDIS_SENTINELS"] = redis_sentinels;
  if (!redis_master.empty()) flags["REDIS_MASTER"] = redis_master;
  if (!secret_file.empty()) flags["SECRET_FILE"] = secret_file;
  if (demo) flags["DEMO_MODE"] = "1";
  if (auto ok = cfg.apply(flags); !ok) return std::cerr << "lingmo-controld: " << ok.error() << "\n", 2;

  // Logs go to stderr; stdout carries only LISTENING and the first start's one-time password.
  spdlog::set_default_logger(spdlog::stderr_color_mt("lingmo-controld"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l lingmo-controld: %v");
  auto key = !cfg.secret_file.empty() ? crypto::SecretKey::load_file(cfg.secret_file)
             : !cfg.encrypt_key.empty() ? crypto::SecretKey::parse(cfg.encrypt_key)
                                        : Result<crypto::SecretKey>::fail("set SECRET_FILE or ENCRYPT_KEY (the key that seals vendor keys)");
  if (!key) return spdlog::critical("secret key: {}", key.error()), 2;
  auto addr = cfg.redis_address();
  if (!addr) return spdlog::critical("{}", addr.error()), 2;
  const std::string redis_where = addr.value().describe();

  cp::App app(cfg, addr.value(), key.value());
  httplib::Server server;
  server.new_task_queue = [n = cfg.threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  server.set_payload_max_length(8 * 1024 * 1024);
  server.set_read_timeout(30, 0);
  server.set_keep_alive_timeout(2);  // idle keep-alive connections do not hold a shutdown for long
  cp::Router router(server, app);
  cp::register_system_routes(router);
  cp::register_auth_routes(router);
  cp::register_provider_routes(router);
  cp::register_key_routes(router);
  cp::register_settings_routes(router);
  cp::register_audit_routes(router);
  cp::register_quota_routes(router);
  cp::register_config_routes(router);
  cp::register_log_routes(router);
  cp::register_usage_routes(router);
  cp::register_user_routes(router);
  auto allow = net::parse_cidrs(cfg.outbound_allow);
  if (!allow) return spdlog::critical("OUTBOUND_ALLOW: {}", allow.error()), 2;
  cp::Outbound outbound(allow.value());
  cp::register_test_routes(router, outbound);
  cp::BalanceSync balance(app.redis, app.secret, outbound, cfg.balance_interval_s);
  cp::register_balance_routes(router, balance);
  cp::Dispatcher dispatcher(app.redis, app.secret, outbound);
  dispatcher.start();
  cp::register_alert_routes(router, dispatcher);
  // Last: the web console's catch-all GET (index.html for client routes, never for /api/*).
  cp::register_web_static(server, cp::resolve_web_root(cfg.web_root));
  server.Options(R"(/api/.*)", [&app](const httplib::Request& req, httplib::Response& res) {
    // CORS preflight for the UI when it is served from another origin (ALLOWED_ORIGINS).
    std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && cp::origin_allowed(app.cfg.allowed_origins, origin)) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Access-Control-Allow-Credentials", "true");
      res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
      res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-CSRF-Token");
      res.set_header("Access-Control-Max-Age", "600");
    }
    res.status = 204;
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      auto rep = res.status == 404 ? cp::error_reply(404, "not_found", "no such endpoint")
                                   : cp::error_reply(res.status, "http_error", "HTTP " + std::to_string(res.status));
      res.set_content(rep.body, "application/json");
    }
  });

  int bound = cfg.port == 0 ? server.bind_to_any_port(cfg.listen.c_str()) : (server.bind_to_port(cfg.listen.c_str(), cfg.port) ? cfg.port : -1);
  if (bound <= 0) return spdlog::critical("cannot listen on {}:{}", cfg.listen, cfg.port), 1;

  // Only now, with the configuration checked and the port bound, create the first account: a
  // start that fails before this point must not consume the one-time password.
  auto first = app.auth.bootstrap();
  if (!first) return spdlog::critical("cannot reach Redis at {}: {}", redis_where, first.error()), 1;
  if (!first.value().empty()) {
    // Shown once, here; only its scrypt hash is stored. Not logged.
    std::cout << "\nFirst start: admin account created.\n  user: admin\n  password: " << first.value() << "\n"
              << (cfg.demo ? "  (demo mode: a known password; do not expose this instance)\n"
                           : "  (one-time password: you must change it at the first login)\n")
              << std::endl;
    spdlog::info("first start: created the admin account ({} password printed on stdout)", cfg.demo ? "demo" : "one-time");
  }

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("signal {}: stopping", sig);
    server.stop();
  });

  cp::QuotaSampler sampler(app.redis, cfg.sample_interval_s);
  sampler.on_sampled([&](int64_t now) {
    cp::evaluate_alerts(app.redis, dispatcher, now);
    cp::send_due_digests(app.redis, dispatcher, now);  // daily digest rules (alert_digest.h)
  });
  sampler.start();
  balance.start();  // vendor balances and plan windows (balance_sync.h)
  spdlog::info("listening on {}:{} (Redis {})", cfg.listen, bound, redis_where);
  std::cout << "LISTENING " << cfg.listen << ":" << bound << std::endl;  // for scripts and tests
  server.listen_after_bind();
  if (waiter.joinable()) {
    pthread_kill(waiter.native_handle(), SIGTERM);  // stopped otherwise: release the waiter
    waiter.join();
  }
  sampler.stop();
  balance.stop();
  dispatcher.stop();
  spdlog::info("stopped");
  return 0;
}
