#include "outbound.h"

#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <algorithm>
#include <memory>

namespace lingmo::cp {

namespace {

struct UrlParts {
  std::string scheme, host;
  long port = 0;
};

bool parse_url(const std::string& url, UrlParts& out, std::string& error) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    error = "not a valid URL";
    return false;
  }
  auto part = [&](CURLUPart p, unsigned flags = 0) {
    char* s = nullptr;
    std::string v;
    if (curl_url_get(u.get(), p, &s, flags) == CURLUE_OK && s) v = s;
    curl_free(s);
    return v;
  };
  out.scheme = part(CURLUPART_SCHEME);
  out.host = part(CURLUPART_HOST);
  if (out.scheme != "http" && out.scheme != "https" && out.scheme != "smtp" && out.scheme != "smtps") {
    error = "only http and https URLs (smtp and smtps for e-mail) are allowed";
    return false;
  }
  out.port = std::atol(part(CURLUPART_PORT, CURLU_DEFAULT_PORT).c_str());
  if (!out.host.empty() && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);  // [v6]
  return !out.host.empty();
}

// Resolves `host` once and checks every address; the one to connect to, or an error.
bool resolve_checked(const std::string& host, const std::vector<net::Cidr>& allow, std::string& pinned, std::string& error) {
  if (auto literal = net::Address::parse(host)) {
    std::string why = net::refusal(literal.value(), allow);
    if (!why.empty()) {
      error = "blocked: " + host + " is a " + why + " address";
      return false;
    }
    pinned = literal.value().str();
    return true;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) {
    error = "cannot resolve " + host;
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    net::Address a;
    if (ai->ai_family == AF_INET) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
    } else if (ai->ai_family == AF_INET6) {
      a.v6 = true;
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    // Any internal answer refuses the host: a name that points inward is not a vendor.
    std::string why = net::refusal(a, allow);
    if (!why.empty()) {
      error = "blocked: " + host + " resolves to a " + why + " address (" + a.str() + ")";
      return false;
    }
    if (pinned.empty()) pinned = a.str();
  }
  if (pinned.empty()) error = "no address for " + host;
  return !pinned.empty();
}

size_t on_body(char* data, size_t size, size_t n, void* p) {
  auto* r = static_cast<OutboundResult*>(p);
  size_t len = size * n;
  if (r->body.size() + len > Outbound::kMaxBody) return 0;  // aborts the transfer
  r->body.append(data, len);
  return len;
}

// Aborts a transfer once its cancel flag is set (curl calls this about once a second, and on
// every data chunk).
void set_cancel(CURL* c, const std::atomic<bool>* cancel) {
  if (!cancel) return;
  auto progress = +[](void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
    return static_cast<const std::atomic<bool>*>(p)->load() ? 1 : 0;
  };
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(cancel));
}

size_t on_header(char* data, size_t size, size_t n, void* p) {
  auto* r = static_cast<OutboundResult*>(p);
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos && colon < 64 && r->headers.size() < 64) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    r->headers[name] = v.substr(0, 256);
  }
  return size * n;
}

}  // namespace

OutboundResult Outbound::request(const std::string& method, const std::string& url, const std::string& body,
                                 const std::vector<std::string>& headers, const std::string& proxy, long timeout_ms,
                                 const std::atomic<bool>* cancel) const {
  OutboundResult r;
  UrlParts target;
  if (!parse_url(url, target, r.error)) return r;
  if (target.scheme != "http" && target.scheme != "https") {
    r.error = "only http and https URLs are allowed";
    return r;
  }
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  curl_slist* resolve = nullptr;
  curl_slist* hdrs = nullptr;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> resolve_guard(nullptr, curl_slist_free_all);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hdr_guard(nullptr, curl_slist_free_all);
  // The host curl connects to (the proxy when there is one) is resolved and checked here, and
  // curl is told to use exactly that address.
  UrlParts hop = target;
  if (!proxy.empty() && !parse_url(proxy.rfind("socks", 0) == 0 ? "http" + proxy.substr(proxy.find("://")) : proxy, hop, r.error)) {
    r.error = "proxy: " + r.error;
    return r;
  }
  std::string pinned;
  if (!resolve_checked(hop.host, allow_, pinned, r.error)) return r;
  bool v6 = pinned.find(':') != std::string::npos;
  resolve = curl_slist_append(resolve, (hop.host + ":" + std::to_string(hop.port) + ":" + (v6 ? "[" + pinned + "]" : pinned)).c_str());
  resolve_guard.reset(resolve);
  for (const auto& h : headers) hdrs = curl_slist_append(hdrs, h.c_str());
  hdrs = curl_slist_append(hdrs, "Expect:");
  hdr_guard.reset(hdrs);
  CURL* c = easy.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "lingmo-controld/1.0");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  if (!proxy.empty()) curl_easy_setopt(c, CURLOPT_PROXY, proxy.c_str());
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  set_cancel(c, cancel);
  auto t0 = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(c);
  r.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (rc != CURLE_OK) {
    r.error = err[0] ? err : curl_easy_strerror(rc);
    if (rc == CURLE_WRITE_ERROR) r.error = "the answer is larger than 1 MB";
  }
  return r;
}

OutboundResult Outbound::send_mail(const std::string& smtp_url, const std::string& user, const std::string& password,
                                   const std::string& from, const std::vector<std::string>& to, const std::string& message,
                                   long timeout_ms, const std::atomic<bool>* cancel) const {
  OutboundResult r;
  UrlParts target;
  if (!parse_url(smtp_url, target, r.error)) return r;
  if (target.scheme != "smtp" && target.scheme != "smtps") {
    r.error = "an SMTP server URL starts with smtp:// or smtps://";
    return r;
  }
  if (to.empty()) {
    r.error = "no recipient";
    return r;
  }
  std::string pinned;
  if (!resolve_checked(target.host, allow_, pinned, r.error)) return r;
  bool v6 = pinned.find(':') != std::string::npos;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> resolve(
      curl_slist_append(nullptr, (target.host + ":" + std::to_string(target.port) + ":" + (v6 ? "[" + pinned + "]" : pinned)).c_str()),
      curl_slist_free_all);
  curl_slist* rcpt = nullptr;
  for (const auto& t : to) rcpt = curl_slist_append(rcpt, ("<" + t + ">").c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt_guard(rcpt, curl_slist_free_all);
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  CURL* c = easy.get();
  struct Upload {
    const std::string* data;
    size_t pos = 0;
  } up{&message};
  auto reader = +[](char* buf, size_t size, size_t n, void* p) -> size_t {
    auto* u = static_cast<Upload*>(p);
    size_t len = std::min(size * n, u->data->size() - u->pos);
    std::memcpy(buf, u->data->data() + u->pos, len);
    u->pos += len;
    return len;
  };
  curl_easy_setopt(c, CURLOPT_URL, smtp_url.c_str());
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, ("<" + from + ">").c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  if (!user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_READFUNCTION, reader);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  set_cancel(c, cancel);
  auto t0 = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(c);
  r.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (rc != CURLE_OK) r.error = err[0] ? err : curl_easy_strerror(rc);
  return r;
}

}  // namespace lingmo::cp
