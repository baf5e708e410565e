// Outbound HTTP calls the admin can trigger (the connectivity test, later webhooks), behind the
// SSRF guard (shared/net/address_policy.h): http/https only, the host resolved once here and
// every address checked, curl pinned to the checked address (no second DNS answer can swap in an
// internal one), no redirects, bounded time and body size.
#pragma once
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "net/address_policy.h"

namespace lingmo::cp {

struct OutboundResult {
  long status = 0;                              // 0: no HTTP answer (refused, DNS, connect, timeout)
  std::string body;                             // at most kMaxBody bytes
  std::map<std::string, std::string> headers;   // lower-cased names
  int64_t latency_ms = 0;
  std::string error;                            // why there is no answer; "blocked: ..." for the guard
};

class Outbound {
 public:
  static constexpr size_t kMaxBody = 1 << 20;
  explicit Outbound(std::vector<net::Cidr> allow) : allow_(std::move(allow)) {}

  // `headers`: "Name: value" lines. `proxy`: optional proxy URL (checked by the guard too).
  // `cancel`: when it turns true the call is aborted (a daemon that stops does not wait for it).
  OutboundResult request(const std::string& method, const std::string& url, const std::string& body,
                         const std::vector<std::string>& headers, const std::string& proxy, long timeout_ms,
                         const std::atomic<bool>* cancel = nullptr) const;
  // One e-mail over SMTP (smtp:// or smtps://; STARTTLS when the server offers it), same guard.
  // `message`: RFC 5322 text with CRLF lines. status: 250 when the server accepted it.
  OutboundResult send_mail(const std::string& smtp_url, const std::string& user, const std::string& password,
                           const std::string& from, const std::vector<std::string>& to, const std::string& message,
                           long timeout_ms, const std::atomic<bool>* cancel = nullptr) const;

 private:
  std::vector<net::Cidr> allow_;
};

}  // namespace lingmo::cp
