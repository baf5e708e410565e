// Configuration structs of ngx_http_lingmo_module (C layout: nginx allocates and merges them).
#pragma once
#include "nginx.h"

namespace lingmo::crypto { class SecretKey; }

// An address of `lingmo_redis` (the server, or one sentinel), resolved at config time.
struct ngx_http_lingmo_redis_addr_t {
  ngx_str_t host;  // IP literal
  ngx_int_t port;
};

struct ngx_http_lingmo_main_conf_t {
  // lingmo_redis: address resolved at config time (hiredis would resolve names with a blocking
  // call inside the worker, which we never allow).
  ngx_str_t redis_host;      // IP literal, or empty when redis_unix is set
  ngx_int_t redis_port;
  ngx_str_t redis_unix;      // unix socket path
  ngx_str_t redis_password;
  ngx_int_t redis_db;
  // lingmo_redis sentinel=... master=...: the master is found through these instead (the
  // redis_host/port/unix fields are then unused). Null without Sentinel.
  ngx_array_t* redis_sentinels;      // of ngx_http_lingmo_redis_addr_t
  ngx_str_t redis_master;            // the master name the sentinels monitor
  ngx_str_t redis_sentinel_password; // sentinel_password=: AUTH on the sentinels
  ngx_flag_t redis_set;
  lingmo::crypto::SecretKey* secret;  // lingmo_secret_key_file; owned by the cycle pool
  ngx_str_t ca_bundle;                // lingmo_ca_bundle
  ngx_flag_t tls_verify;              // lingmo_tls_verify
  ngx_flag_t test_clock;              // lingmo_test_clock (tests only: clock offset from Redis)
  ngx_uint_t circuit_failures;        // lingmo_circuit_breaker <failures> <cooldown>
  ngx_msec_t circuit_cooldown;
  ngx_uint_t request_log_size;        // lingmo_request_log_size: records kept in Redis; 0 = no request log
};

struct ngx_http_lingmo_srv_conf_t {
  ngx_flag_t has_gateway;  // some location of this server has `lingmo_gateway on` (error_filter.cpp)
};

struct ngx_http_lingmo_loc_conf_t {
  ngx_flag_t enabled;                 // lingmo_gateway
  ngx_msec_t connect_timeout;         // lingmo_connect_timeout
  ngx_msec_t first_byte_timeout;      // lingmo_first_byte_timeout
  ngx_msec_t idle_timeout;            // lingmo_idle_timeout
  ngx_msec_t config_wait;             // lingmo_config_wait
  ngx_uint_t max_attempts;            // lingmo_max_attempts
  size_t max_response_size;           // lingmo_max_response_size
  ngx_msec_t quota_deadline;          // lingmo_quota_deadline
};

extern "C" ngx_module_t ngx_http_lingmo_module;
