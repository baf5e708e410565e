// ngx_http_lingmo_module: directives, configuration create/merge, per-worker start and stop.
// The directive reference is docs/DIRECTIVES.md; keep it in step with the table below.
#include <curl/curl.h>
#include <unistd.h>

#include <string>

#include "bridge.h"
#include "conf.h"
#include "crypto/crypto.h"
#include "error_filter.h"
#include "handler.h"
#include "worker.h"

namespace {

char* lingmo_gateway(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* lingmo_redis(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* lingmo_secret_key_file(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* lingmo_ca_bundle(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* lingmo_circuit_breaker(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* lingmo_positive_msec(ngx_conf_t* cf, void* post, void* data) noexcept;
void* create_main_conf(ngx_conf_t* cf) noexcept;
ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept { return ngx_http_lingmo_init_error_filter(cf); }
char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept;
void* create_srv_conf(ngx_conf_t* cf) noexcept;
void* create_loc_conf(ngx_conf_t* cf) noexcept;
char* merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) noexcept;
ngx_int_t init_process(ngx_cycle_t* cycle) noexcept;
void exit_process(ngx_cycle_t* cycle) noexcept;

char* lingmo_attempts_bounds(ngx_conf_t* cf, void* post, void* data) noexcept;
ngx_conf_post_t max_attempts_bounds = {lingmo_attempts_bounds};
ngx_conf_post_t positive_msec = {lingmo_positive_msec};

#define LOC_ANY (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF)

ngx_command_t commands[] = {
    {ngx_string("lingmo_gateway"), NGX_HTTP_LOC_CONF | NGX_CONF_FLAG, lingmo_gateway, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("lingmo_redis"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, lingmo_redis, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("lingmo_secret_key_file"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, lingmo_secret_key_file,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("lingmo_ca_bundle"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, lingmo_ca_bundle, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_lingmo_main_conf_t, ca_bundle), nullptr},
    {ngx_string("lingmo_circuit_breaker"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2, lingmo_circuit_breaker,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("lingmo_test_clock"), NGX_HTTP_MAIN_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_lingmo_main_conf_t, test_clock), nullptr},
    {ngx_string("lingmo_request_log_size"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_num_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_lingmo_main_conf_t, request_log_size), nullptr},
    {ngx_string("lingmo_tls_verify"), NGX_HTTP_MAIN_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_lingmo_main_conf_t, tls_verify), nullptr},
    {ngx_string("lingmo_connect_timeout"), LOC_ANY | NGX_CONF_TAKE1, ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_lingmo_loc_conf_t, connect_timeout), &positive_msec},
    {ngx_string("lingmo_first_byte_timeout"), LOC_ANY | NGX_CONF_TAKE1, ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_lingmo_loc_conf_t, first_byte_timeout), &positive_msec},
    {ngx_string("lingmo_idle_timeout"), LOC_ANY | NGX_CONF_TAKE1, ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_lingmo_loc_conf_t, idle_timeout), &positive_msec},
    {ngx_string("lingmo_config_wait"), LOC_ANY | NGX_CONF_TAKE1, ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_lingmo_loc_conf_t, config_wait), &positive_msec},
    {ngx_string("lingmo_max_attempts"), LOC_ANY | NGX_CONF_TAKE1, ngx_conf_set_num_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_lingmo_loc_conf_t, max_attempts), &max_attempts_bounds},
    {ngx_string("lingmo_quota_deadline"), LOC_ANY | NGX_CONF_TAKE1, ngx_conf_set_msec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_lingmo_loc_conf_t, quota_deadline), &positive_msec},
    {ngx_string("lingmo_max_response_size"), LOC_ANY | NGX_CONF_TAKE1, ngx_conf_set_size_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_lingmo_loc_conf_t, max_response_size), nullptr},
    ngx_null_command};

ngx_http_module_t module_ctx = {
    nullptr,           // preconfiguration
    postconfiguration, // postconfiguration: installs the error-page filter
    create_main_conf,  // create main configuration
    init_main_conf,    // init main configuration
    create_srv_conf,   // create server configuration
    nullptr,           // merge server configuration
    create_loc_conf,   // create location configuration
    merge_loc_conf     // merge location configuration
};

}  // namespace

extern "C" {
ngx_module_t ngx_http_lingmo_module = {
    NGX_MODULE_V1,
    &module_ctx,
    commands,
    NGX_HTTP_MODULE,
    nullptr,       // init master
    nullptr,       // init module
    init_process,  // init process
    nullptr,       // init thread
    nullptr,       // exit thread
    exit_process,  // exit process
    nullptr,       // exit master
    NGX_MODULE_V1_PADDING};
}

namespace {

using lingmo::crypto::SecretKey;

ngx_http_lingmo_main_conf_t* main_conf(ngx_conf_t* cf) {
  return static_cast<ngx_http_lingmo_main_conf_t*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_lingmo_module));
}

char* lingmo_gateway(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* lcf = static_cast<ngx_http_lingmo_loc_conf_t*>(conf);
  if (lcf->enabled != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  char* rv = ngx_conf_set_flag_slot(cf, cmd, conf);
  if (rv != NGX_CONF_OK) return rv;
  if (lcf->enabled) {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = ngx_http_lingmo_handler;
    main_conf(cf)->redis_set |= 2;  // bit 2: some location uses the gateway (checked in init_main_conf)
    // The enclosing server: errors nginx sends before a request reaches any location (headers or
    // URI too large) are JSON there too (error_filter.cpp).
    static_cast<ngx_http_lingmo_srv_conf_t*>(ngx_http_conf_get_module_srv_conf(cf, ngx_http_lingmo_module))->has_gateway = 1;
  }
  return NGX_CONF_OK;
}

// Resolves `addr` (host[:port]) now, in the master: hiredis would resolve a name with a blocking
// call in the worker. Appends every address it resolves to (at most `max`) as IP literals; false
// after logging when it cannot be resolved.
bool resolve_redis(ngx_conf_t* cf, ngx_str_t addr, in_port_t default_port, ngx_uint_t max, ngx_array_t* out) {
  ngx_url_t u;
  ngx_memzero(&u, sizeof(u));
  u.url = addr;
  u.default_port = default_port;
  if (ngx_parse_url(cf->pool, &u) != NGX_OK || !u.addrs || u.naddrs == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "lingmo_redis: invalid address \"%V\"%s%s", &addr, u.err ? ": " : "",
                       u.err ? u.err : "");
    return false;
  }
  for (ngx_uint_t i = 0; i < u.naddrs && i < max; ++i) {
    u_char text[NGX_SOCKADDR_STRLEN];
    size_t n = ngx_sock_ntop(u.addrs[i].sockaddr, u.addrs[i].socklen, text, sizeof(text), 0);
    auto* e = static_cast<ngx_http_lingmo_redis_addr_t*>(ngx_array_push(out));
    if (!e) return false;
    e->host = lingmo::ngx::pool_str(cf->pool, std::string_view(reinterpret_cast<char*>(text), n));
    if (!e->host.data) return false;
    if (u.addrs[i].sockaddr->sa_family == AF_INET6 && e->host.len > 2 && e->host.data[0] == '[') {
      e->host.data++;  // hiredis wants a bare IPv6 literal
      e->host.len -= 2;
    }
    e->port = u.port;
  }
  return true;
}

bool starts_with(const ngx_str_t& a, const char* prefix, size_t n) { return a.len > n && ngx_strncmp(a.data, prefix, n) == 0; }

// lingmo_redis 127.0.0.1:6379 | unix:/run/redis.sock  [password=SECRET] [db=N]
// lingmo_redis sentinel=IP:PORT[,IP:PORT...] master=NAME [password=SECRET] [sentinel_password=S] [db=N]
char* lingmo_redis(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
  auto* mcf = static_cast<ngx_http_lingmo_main_conf_t*>(conf);
  if (mcf->redis_set & 1) return const_cast<char*>("is duplicate");
  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  ngx_str_t addr = args[1];
  if (starts_with(addr, "sentinel=", 9)) {
    // Every sentinel, each name resolved now to all its addresses (a name may stand for the
    // whole set); the worker asks them in this order.
    mcf->redis_sentinels = ngx_array_create(cf->pool, 3, sizeof(ngx_http_lingmo_redis_addr_t));
    if (!mcf->redis_sentinels) return static_cast<char*>(NGX_CONF_ERROR);
    u_char* p = addr.data + 9;
    u_char* last = addr.data + addr.len;
    while (p <= last) {
      u_char* comma = static_cast<u_char*>(ngx_strlchr(p, last, ','));
      if (!comma) comma = last;
      ngx_str_t one{static_cast<size_t>(comma - p), p};
      if (one.len == 0 || starts_with(one, "unix:", 5) || (one.len == 5 && ngx_strncmp(one.data, "unix:", 5) == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "lingmo_redis: invalid sentinel \"%V\" in \"%V\" (expected host:port items, comma-separated)",
                           &one, &addr);
        return static_cast<char*>(NGX_CONF_ERROR);
      }
      if (!resolve_redis(cf, one, 26379, 16, mcf->redis_sentinels)) return static_cast<char*>(NGX_CONF_ERROR);
      p = comma + 1;
    }
  } else if (starts_with(addr, "unix:", 5)) {
    mcf->redis_unix.data = addr.data + 5;
    mcf->redis_unix.len = addr.len - 5;
  } else {
    ngx_array_t* one = ngx_array_create(cf->pool, 1, sizeof(ngx_http_lingmo_redis_addr_t));
    if (!one) return static_cast<char*>(NGX_CONF_ERROR);
    if (!resolve_redis(cf, addr, 6379, 1, one)) return static_cast<char*>(NGX_CONF_ERROR);
    const auto* e = static_cast<const ngx_http_lingmo_redis_addr_t*>(one->elts);
    mcf->redis_host = e->host;
    mcf->redis_port = e->port;
  }
  for (ngx_uint_t i = 2; i < cf->args->nelts; ++i) {
    ngx_str_t a = args[i];
    if (starts_with(a, "password=", 9)) {
      mcf->redis_password.data = a.data + 9;
      mcf->redis_password.len = a.len - 9;
    } else if (starts_with(a, "sentinel_password=", 18)) {
      mcf->redis_sentinel_password.data = a.data + 18;
      mcf->redis_sentinel_password.len = a.len - 18;
    } else if (starts_with(a, "master=", 7)) {
      mcf->redis_master.data = a.data + 7;
      mcf->redis_master.len = a.len - 7;
    } else if (starts_with(a, "db=", 3)) {
      mcf->redis_db = ngx_atoi(a.data + 3, a.len - 3);
      if (mcf->redis_db == NGX_ERROR || mcf->redis_db > 15) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "lingmo_redis: invalid \"%V\" (db must be 0-15)", &a);
        return static_cast<char*>(NGX_CONF_ERROR);
      }
    } else {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "lingmo_redis: unknown parameter \"%V\" (expected password=, db=, or with sentinel=: master=, sentinel_password=)", &a);
      return static_cast<char*>(NGX_CONF_ERROR);
    }
  }
  bool sentinel = mcf->redis_sentinels != nullptr;
  if (sentinel && mcf->redis_master.len == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "lingmo_redis: sentinel= needs master=NAME (the name the sentinels monitor)");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (!sentinel && (mcf->redis_master.len || mcf->redis_sentinel_password.len)) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "lingmo_redis: master= and sentinel_password= go with sentinel=HOST:PORT,...");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  mcf->redis_set |= 1;
  return NGX_CONF_OK;
}

void delete_secret(void* p) { delete static_cast<SecretKey*>(p); }

char* lingmo_secret_key_file(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
  auto* mcf = static_cast<ngx_http_lingmo_main_conf_t*>(conf);
  if (mcf->secret) return const_cast<char*>("is duplicate");
  ngx_str_t path = static_cast<ngx_str_t*>(cf->args->elts)[1];
  if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return static_cast<char*>(NGX_CONF_ERROR);
  try {
    auto key = SecretKey::load_file(lingmo::ngx::str(path));
    if (!key) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "lingmo_secret_key_file: %s", key.error().c_str());
      return static_cast<char*>(NGX_CONF_ERROR);
    }
    auto* cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (!cln) return static_cast<char*>(NGX_CONF_ERROR);
    mcf->secret = new SecretKey(std::move(key.value()));
    cln->handler = delete_secret;
    cln->data = mcf->secret;
  } catch (const std::exception& e) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "lingmo_secret_key_file: %s", e.what());
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

char* lingmo_ca_bundle(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  char* rv = ngx_conf_set_str_slot(cf, cmd, conf);
  if (rv != NGX_CONF_OK) return rv;
  auto* mcf = static_cast<ngx_http_lingmo_main_conf_t*>(conf);
  if (ngx_conf_full_name(cf->cycle, &mcf->ca_bundle, 1) != NGX_OK) return static_cast<char*>(NGX_CONF_ERROR);
  std::string path = lingmo::ngx::str(mcf->ca_bundle);
  mcf->ca_bundle = lingmo::ngx::pool_str(cf->pool, std::string(path) + '\0');
  mcf->ca_bundle.len--;  // keep it NUL-terminated for libcurl
  if (access(path.c_str(), R_OK) != 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "lingmo_ca_bundle: cannot read \"%s\"", path.c_str());
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  return NGX_CONF_OK;
}

// Returning a string (not logging) lets nginx name the directive: "lingmo_max_attempts" directive ...
char* lingmo_attempts_bounds(ngx_conf_t*, void*, void* data) noexcept {
  ngx_uint_t n = *static_cast<ngx_uint_t*>(data);
  if (n < 1 || n > 16) return const_cast<char*>("must be between 1 and 16");
  return NGX_CONF_OK;
}

// lingmo_circuit_breaker <consecutive failures> <cooldown>;   e.g. 3 30s
char* lingmo_circuit_breaker(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
  auto* mcf = static_cast<ngx_http_lingmo_main_conf_t*>(conf);
  if (mcf->circuit_failures != NGX_CONF_UNSET_UINT) return const_cast<char*>("is duplicate");
  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  ngx_int_t n = ngx_atoi(args[1].data, args[1].len);
  ngx_msec_t ms = ngx_parse_time(&args[2], 0);
  if (n < 1 || n > 100) return const_cast<char*>("needs a failure count between 1 and 100");
  if (ms == static_cast<ngx_msec_t>(NGX_ERROR) || ms == 0) return const_cast<char*>("needs a positive cooldown time");
  mcf->circuit_failures = static_cast<ngx_uint_t>(n);
  mcf->circuit_cooldown = ms;
  return NGX_CONF_OK;
}

char* lingmo_positive_msec(ngx_conf_t*, void*, void* data) noexcept {
  if (*static_cast<ngx_msec_t*>(data) == 0) return const_cast<char*>("must be greater than zero");
  return NGX_CONF_OK;
}

void* create_main_conf(ngx_conf_t* cf) noexcept {
  auto* mcf = static_cast<ngx_http_lingmo_main_conf_t*>(ngx_pcalloc(cf->pool, sizeof(ngx_http_lingmo_main_conf_t)));
  if (!mcf) return nullptr;
  mcf->redis_port = 6379;
  mcf->tls_verify = NGX_CONF_UNSET;
  mcf->test_clock = NGX_CONF_UNSET;
  mcf->circuit_failures = NGX_CONF_UNSET_UINT;
  mcf->circuit_cooldown = NGX_CONF_UNSET_MSEC;
  mcf->request_log_size = NGX_CONF_UNSET_UINT;
  return mcf;
}

char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept {
  auto* mcf = static_cast<ngx_http_lingmo_main_conf_t*>(conf);
  ngx_conf_init_value(mcf->tls_verify, 1);
  ngx_conf_init_value(mcf->test_clock, 0);
  ngx_conf_init_uint_value(mcf->circuit_failures, 3);
  ngx_conf_init_msec_value(mcf->circuit_cooldown, 30000);
  ngx_conf_init_uint_value(mcf->request_log_size, 10000);
  bool used = mcf->redis_set & 2, redis = mcf->redis_set & 1;
  if (used && !redis) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"lingmo_gateway on\" needs \"lingmo_redis\" in the http block");
    return static_cast<char*>(NGX_CONF_ERROR);
  }
  if (used && !mcf->secret)
    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "no \"lingmo_secret_key_file\": providers whose API key is stored encrypted cannot be used");
  return NGX_CONF_OK;
}

void* create_srv_conf(ngx_conf_t* cf) noexcept {
  return ngx_pcalloc(cf->pool, sizeof(ngx_http_lingmo_srv_conf_t));  // has_gateway = 0
}

void* create_loc_conf(ngx_conf_t* cf) noexcept {
  auto* lcf = static_cast<ngx_http_lingmo_loc_conf_t*>(ngx_pcalloc(cf->pool, sizeof(ngx_http_lingmo_loc_conf_t)));
  if (!lcf) return nullptr;
  lcf->enabled = NGX_CONF_UNSET;
  lcf->connect_timeout = NGX_CONF_UNSET_MSEC;
  lcf->first_byte_timeout = NGX_CONF_UNSET_MSEC;
  lcf->idle_timeout = NGX_CONF_UNSET_MSEC;
  lcf->config_wait = NGX_CONF_UNSET_MSEC;
  lcf->max_attempts = NGX_CONF_UNSET_UINT;
  lcf->max_response_size = NGX_CONF_UNSET_SIZE;
  lcf->quota_deadline = NGX_CONF_UNSET_MSEC;
  return lcf;
}

char* merge_loc_conf(ngx_conf_t*, void* parent, void* child) noexcept {
  auto* prev = static_cast<ngx_http_lingmo_loc_conf_t*>(parent);
  auto* conf = static_cast<ngx_http_lingmo_loc_conf_t*>(child);
  ngx_conf_merge_value(conf->enabled, prev->enabled, 0);
  ngx_conf_merge_msec_value(conf->connect_timeout, prev->connect_timeout, 10000);
  ngx_conf_merge_msec_value(conf->first_byte_timeout, prev->first_byte_timeout, 60000);
  ngx_conf_merge_msec_value(conf->idle_timeout, prev->idle_timeout, 60000);
  ngx_conf_merge_msec_value(conf->config_wait, prev->config_wait, 3000);
  ngx_conf_merge_uint_value(conf->max_attempts, prev->max_attempts, 3);
  ngx_conf_merge_size_value(conf->max_response_size, prev->max_response_size, 16 * 1024 * 1024);
  ngx_conf_merge_msec_value(conf->quota_deadline, prev->quota_deadline, 100);
  return NGX_CONF_OK;
}

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
  if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) return NGX_OK;
  auto* mcf = static_cast<ngx_http_lingmo_main_conf_t*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_lingmo_module));
  if (!mcf || !(mcf->redis_set & 2)) return NGX_OK;  // no location uses the gateway
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "lingmo: curl_global_init failed");
    return NGX_ERROR;
  }
  return lingmo::ngx::Worker::init(cycle, mcf);
}

void exit_process(ngx_cycle_t*) noexcept {
  try {
    lingmo::ngx::Worker::shutdown();
  } catch (...) {
  }
}

}  // namespace
