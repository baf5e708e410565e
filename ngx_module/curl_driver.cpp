#include "curl_driver.h"

#include "bridge.h"

namespace lingmo::ngx {

CurlDriver::CurlDriver(ngx_log_t* log) : log_(log) {
  multi_ = curl_multi_init();
  if (!multi_) return;
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlDriver::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlDriver::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // Size of the per-worker connection cache that keeps vendor connections warm. libcurl counts
  // connections in use as well as idle ones, so it must exceed the concurrent vendor calls of a
  // busy worker, or each finished call closes a connection the next one has to reopen.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 1024L);
  timer_.data = this;
  timer_.handler = &CurlDriver::on_timeout;
  timer_.log = log_;
  timer_.cancelable = 1;  // must not hold a gracefully exiting worker open
}

CurlDriver::~CurlDriver() {
  closing_ = true;
  if (timer_.timer_set) ngx_del_timer(&timer_);
  unpost(&timer_);
  if (multi_) curl_multi_cleanup(multi_);  // closes cached connections; on_socket releases ours
}

bool CurlDriver::add(CURL* easy) { return curl_multi_add_handle(multi_, easy) == CURLM_OK; }

void CurlDriver::remove(CURL* easy) { curl_multi_remove_handle(multi_, easy); }

void CurlDriver::kick() { ngx_add_timer(&timer_, 0); }  // curl re-arms its own timer after running

int CurlDriver::on_socket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
  auto* self = static_cast<CurlDriver*>(userp);
  auto* c = static_cast<ngx_connection_t*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (c) {
      if (self->closing_) {  // the fd is about to be closed: no epoll_ctl needed
        c->read->active = c->write->active = 0;
      }
      release_foreign_connection(c);
      curl_multi_assign(self->multi_, s, nullptr);
    }
    return 0;
  }
  if (!c) {
    c = ngx_get_connection(s, self->log_);
    if (!c) return -1;
    c->data = self;
    c->read->handler = c->write->handler = &CurlDriver::on_io;
    c->read->log = c->write->log = self->log_;
    curl_multi_assign(self->multi_, s, c);
  }
  if (want_event(c->read, what & CURL_POLL_IN, NGX_READ_EVENT) != NGX_OK ||
      want_event(c->write, what & CURL_POLL_OUT, NGX_WRITE_EVENT) != NGX_OK)
    return -1;
  return 0;
}

int CurlDriver::on_timer(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlDriver*>(userp);
  if (timeout_ms < 0) {
    if (self->timer_.timer_set) ngx_del_timer(&self->timer_);
  } else {
    ngx_add_timer(&self->timer_, static_cast<ngx_msec_t>(timeout_ms));
  }
  return 0;
}

void CurlDriver::on_io(ngx_event_t* ev) {
  auto* c = static_cast<ngx_connection_t*>(ev->data);
  auto* self = static_cast<CurlDriver*>(c->data);
  self->drive(c->fd, ev->write ? CURL_CSELECT_OUT : CURL_CSELECT_IN);
}

void CurlDriver::on_timeout(ngx_event_t* ev) {
  static_cast<CurlDriver*>(ev->data)->drive(CURL_SOCKET_TIMEOUT, 0);
}

void CurlDriver::drive(curl_socket_t s, int mask) {
  int running = 0;
  CURLMcode rc = curl_multi_socket_action(multi_, s, mask, &running);
  if (rc != CURLM_OK) ngx_log_error(NGX_LOG_ERR, log_, 0, "lingmo: curl_multi_socket_action: %s", curl_multi_strerror(rc));
  reap();
}

void CurlDriver::reap() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    void* priv = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    if (priv) static_cast<Transfer*>(priv)->on_done(msg->data.result);
  }
}

}  // namespace lingmo::ngx
