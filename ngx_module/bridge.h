// Small conversions between nginx types and C++ ones.
#pragma once
#include <exception>
#include <string>
#include <string_view>

#include "nginx.h"

namespace lingmo::ngx {

inline std::string_view view(const ngx_str_t& s) { return {reinterpret_cast<const char*>(s.data), s.len}; }
inline std::string str(const ngx_str_t& s) { return std::string(view(s)); }

// Copies `s` into `pool`; returns a null ngx_str_t on allocation failure.
inline ngx_str_t pool_str(ngx_pool_t* pool, std::string_view s) {
  ngx_str_t out{0, nullptr};
  auto* p = static_cast<u_char*>(ngx_pnalloc(pool, s.size() ? s.size() : 1));
  if (!p) return out;
  ngx_memcpy(p, s.data(), s.size());
  out.data = p;
  out.len = s.size();
  return out;
}

// nginx's ngx_delete_posted_event is a multi-statement macro: never use it under a bare `if`.
inline void unpost(ngx_event_t* ev) {
  if (ev->posted) {
    ngx_delete_posted_event(ev);
  }
}

// Frees a connection that wraps a socket owned by a library (libcurl, hiredis): remove its events,
// return it to nginx's free list, and mark it stale so an event already collected by epoll in the
// same iteration is ignored. The library closes the fd itself.
inline void release_foreign_connection(ngx_connection_t* c) {
  if (c->read->timer_set) ngx_del_timer(c->read);
  if (c->write->timer_set) ngx_del_timer(c->write);
  unpost(c->read);
  unpost(c->write);
  if (c->read->active) ngx_del_event(c->read, NGX_READ_EVENT, 0);
  if (c->write->active) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
  ngx_free_connection(c);
  c->fd = (ngx_socket_t)-1;
}

// Level-triggered interest: libcurl and hiredis read a bounded amount per call and expect to be
// told again while data remains, so edge-triggered epoll (nginx's default) would lose wakeups.
inline ngx_int_t want_event(ngx_event_t* ev, bool want, ngx_int_t kind) {
  if (want && !ev->active) return ngx_add_event(ev, kind, NGX_LEVEL_EVENT);
  if (!want && ev->active) return ngx_del_event(ev, kind, 0);
  return NGX_OK;
}

// Runs `f` from a C entry point (an nginx event handler, a hiredis callback): no exception may
// cross into C code, so one (bad_alloc, in practice) is logged and dropped here.
template <class F>
void guarded(ngx_log_t* log, const char* where, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, log, 0, "lingmo: %s: %s", where, e.what());
  } catch (...) {
    ngx_log_error(NGX_LOG_ERR, log, 0, "lingmo: %s: unknown exception", where);
  }
}

// Queues `ev` to run after the current batch of I/O events (once, however often it is posted).
inline void post(ngx_event_t* ev) {
  if (!ev->posted) {
    ngx_post_event(ev, &ngx_posted_events);
  }
}

}  // namespace lingmo::ngx
