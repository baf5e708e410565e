#include "vendor_call.h"

#include <cctype>

#include "bridge.h"
#include "translate/api.h"

namespace lingmo::ngx {

VendorCall::~VendorCall() {
  if (easy_) {
    if (added_) driver_.remove(easy_);  // cancels an unfinished call: the vendor sees the close
    curl_easy_cleanup(easy_);
  }
  if (headers_) curl_slist_free_all(headers_);
}

bool VendorCall::start(const config::Provider& p, const std::string& api_key, const std::string& path, std::string body,
                       const std::vector<std::pair<std::string, std::string>>& headers, bool stream, const CallSettings& s,
                       std::string& error) {
  easy_ = curl_easy_init();
  if (!easy_) {
    error = "curl_easy_init failed";
    return false;
  }
  body_ = std::move(body);
  std::string url = p.base_url + path;
  headers_ = curl_slist_append(headers_, "Content-Type: application/json");
  headers_ = curl_slist_append(headers_, stream ? "Accept: text/event-stream" : "Accept: application/json");
  headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
  if (!api_key.empty()) headers_ = curl_slist_append(headers_, translate::auth_header(p.dialect, api_key).c_str());
  for (const auto& [k, v] : headers) headers_ = curl_slist_append(headers_, (k + ": " + v).c_str());
  for (const auto& [k, v] : p.headers) headers_ = curl_slist_append(headers_, (k + ": " + v).c_str());

  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_POST, 1L);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.data());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, "lingmo-gateway/1.0");
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.connect_timeout));
  curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, s.tls_verify ? 1L : 0L);
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, s.tls_verify ? 2L : 0L);
  if (!s.ca_bundle.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, s.ca_bundle.c_str());
  if (!p.proxy.empty()) curl_easy_setopt(easy_, CURLOPT_PROXY, p.proxy.c_str());
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &VendorCall::on_body);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &VendorCall::on_header);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, static_cast<Transfer*>(this));
  if (!driver_.add(easy_)) {
    error = "curl_multi_add_handle failed";
    return false;
  }
  added_ = true;
  return true;
}

long VendorCall::status() const {
  long code = 0;
  if (easy_) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

std::string VendorCall::error_text() const {
  return errbuf_[0] ? std::string(errbuf_) : std::string(curl_easy_strerror(result));
}

void VendorCall::resume() {
  if (!paused_ || finished) return;
  paused_ = false;
  curl_easy_pause(easy_, CURLPAUSE_CONT);  // may deliver buffered data right here (on_body)
  driver_.kick();
}

void VendorCall::on_done(CURLcode r) {
  finished = true;
  result = r;
  notify();
}

size_t VendorCall::on_body(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<VendorCall*>(p);
  size_t len = size * n;
  if (self->inbox.size() >= kInboxLimit) {
    self->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;  // curl keeps these bytes and delivers them again on resume
  }
  self->inbox.append(data, len);
  self->got_data = true;
  self->notify();
  return len;
}

size_t VendorCall::on_header(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<VendorCall*>(p);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) self->hint_headers.clear();  // a new response (after 1xx)
  size_t colon = line.find(':');
  if (colon != std::string_view::npos && colon < 64) {
    std::string name(line.substr(0, colon));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name == "retry-after" || name == "retry-after-ms" || name.rfind("x-ratelimit-", 0) == 0 ||
        name.rfind("anthropic-ratelimit-", 0) == 0) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
      if (self->hint_headers.size() < 32) self->hint_headers[name] = std::string(v.substr(0, 128));
    }
  }
  if (!self->first_byte) {
    self->first_byte = true;
    self->notify();
  }
  self->got_data = true;
  return size * n;
}

void VendorCall::notify() {
  post(wake_);
}

}  // namespace lingmo::ngx
