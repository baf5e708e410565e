// CurlDriver: libcurl's multi_socket API driven by nginx's event loop and timers — one per worker.
// Why libcurl (and not nginx's upstream machinery) is recorded in docs/HTTP_CLIENT.md: TLS with
// verification, HTTP and SOCKS5 proxies per provider, non-blocking DNS, HTTP/2, and a per-worker
// connection cache that keeps vendor connections warm across requests.
//
// Rules this file keeps: curl callbacks never call back into curl or finalize a request; they only
// record and post events. Completed transfers are reported through Transfer::on_done() after
// curl_multi_socket_action() has returned.
#pragma once
#include <curl/curl.h>

#include "nginx.h"

namespace lingmo::ngx {

class Transfer {
 public:
  virtual ~Transfer() = default;
  virtual void on_done(CURLcode result) = 0;
};

class CurlDriver {
 public:
  explicit CurlDriver(ngx_log_t* log);
  ~CurlDriver();
  CurlDriver(const CurlDriver&) = delete;
  CurlDriver& operator=(const CurlDriver&) = delete;

  bool ok() const { return multi_ != nullptr; }
  // `easy` must carry CURLOPT_PRIVATE = the Transfer to notify.
  bool add(CURL* easy);
  void remove(CURL* easy);
  // Lets curl make progress after curl_easy_pause(CONT) etc. outside socket events.
  void kick();

 private:
  static int on_socket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* userp);
  static void on_io(ngx_event_t* ev);
  static void on_timeout(ngx_event_t* ev);
  void drive(curl_socket_t s, int mask);
  void reap();

  ngx_log_t* log_;
  CURLM* multi_ = nullptr;
  ngx_event_t timer_{};
  bool closing_ = false;
};

}  // namespace lingmo::ngx
