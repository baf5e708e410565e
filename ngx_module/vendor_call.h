// VendorCall: one HTTP request to one vendor (one failover attempt), run by the worker's
// CurlDriver. Its curl callbacks only buffer bytes and post the owner's wake event; the owner
// (the request, in handler.cpp) does all processing from that event, outside curl.
//
// Flow control: the owner drains `inbox` only while the client keeps up. When the inbox is full
// the write callback pauses the transfer (CURL_WRITEFUNC_PAUSE); the owner resumes it once the
// client has taken what was sent, so a slow client never makes the gateway buffer a whole stream.
#pragma once
#include <curl/curl.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "curl_driver.h"
#include "nginx.h"

namespace lingmo::ngx {

struct CallSettings {
  ngx_msec_t connect_timeout;
  std::string ca_bundle;
  bool tls_verify = true;
};

class VendorCall final : public Transfer {
 public:
  static constexpr size_t kInboxLimit = 64 * 1024;

  VendorCall(CurlDriver& driver, ngx_event_t* wake) : driver_(driver), wake_(wake) {}
  ~VendorCall() override;
  VendorCall(const VendorCall&) = delete;
  VendorCall& operator=(const VendorCall&) = delete;

  // Starts POST {base_url}{path} with `body` and `headers`, authenticated the way the provider's
  // dialect wants. False (with `error`) if it could not be started.
  bool start(const config::Provider& p, const std::string& api_key, const std::string& path, std::string body,
             const std::vector<std::pair<std::string, std::string>>& headers, bool stream, const CallSettings& s,
             std::string& error);

  void on_done(CURLcode result) override;

  // State the owner reads from its wake event.
  std::string inbox;              // received body bytes not yet consumed by the owner
  bool first_byte = false;        // any response byte (status line) arrived
  bool got_data = false;          // set on every delivery; the owner clears it (idle timer)
  bool finished = false;
  CURLcode result = CURLE_OK;
  long status() const;
  std::string error_text() const;  // curl's detailed message for a failed transfer
  // Response headers that carry retry and rate-limit hints (names lower-cased).
  std::map<std::string, std::string> hint_headers;
  void resume();                   // unpause after the owner drained the inbox

 private:
  static size_t on_body(char* data, size_t size, size_t n, void* self);
  static size_t on_header(char* data, size_t size, size_t n, void* self);
  void notify();

  CurlDriver& driver_;
  ngx_event_t* wake_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string body_;
  bool added_ = false;
  bool paused_ = false;
  char errbuf_[CURL_ERROR_SIZE] = {0};
};

}  // namespace lingmo::ngx
