#include "failover/outcome.h"

#include <rapidjson/document.h>

#include "util/json.h"

namespace lingmo::failover {

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::kNone: return "ok";
    case Failure::kConnect: return "connect";
    case Failure::kFirstByteTimeout: return "first_byte_timeout";
    case Failure::kIdleTimeout: return "idle_timeout";
    case Failure::kRateLimited: return "rate_limited";
    case Failure::kQuotaExhausted: return "quota_exhausted";
    case Failure::kAuth: return "auth";
    case Failure::kServer: return "server_error";
    case Failure::kMalformed: return "malformed";
    case Failure::kInterrupted: return "interrupted";
    case Failure::kClientError: return "client_error";
  }
  return "unknown";
}

bool should_failover(Failure f) { return f != Failure::kNone && f != Failure::kClientError; }

Failure from_class(ErrorClass c) {
  switch (c) {
    case ErrorClass::kAuth: return Failure::kAuth;
    case ErrorClass::kQuota: return Failure::kQuotaExhausted;
    case ErrorClass::kRateLimited: return Failure::kRateLimited;
    case ErrorClass::kOverloaded: return Failure::kServer;
    case ErrorClass::kNotFound: return Failure::kServer;  // this vendor lacks the model: try the next
    case ErrorClass::kClient: return Failure::kClientError;
  }
  return Failure::kServer;
}

Failure classify_http(long status, std::string_view body) {
  if (status < 400) return Failure::kMalformed;  // 1xx/3xx: nothing a chat client can use
  return from_class(SignatureTable::builtin().classify(status, body, {}, "", 0).cls);
}

std::string describe(const AttemptRecord& a) {
  std::string s = a.provider_id + " (" + a.upstream_model + "): ";
  if (a.status) s += "HTTP " + std::to_string(a.status) + " ";
  s += failure_name(a.failure);
  if (!a.detail.empty()) s += " - " + a.detail;
  return s;
}

openai::ApiError final_error(std::string_view model, const std::vector<AttemptRecord>& tried,
                             const std::vector<routing::Skip>& skipped, bool attempts_capped) {
  openai::ApiError e;
  std::string skipped_text;
  for (const auto& s : skipped) skipped_text += (skipped_text.empty() ? "" : "; ") + s.provider_id + " (" + s.reason + ")";
  if (tried.empty()) {
    // Nothing was tried. When every provider sits out a quota (or a rate limit), say so: clients
    // (and Claude Code's retry logic) treat "out of quota" and "overloaded" very differently.
    bool quota = !skipped.empty(), limited = !skipped.empty();
    for (const auto& s : skipped) {
      bool q = s.code == "parked:quota" || s.code == "parked:threshold" || s.code == "over_threshold";
      bool r = s.code == "parked:rate_limited" || s.code == "parked:ratelimit_headers";
      quota &= q;
      limited &= q || r;
    }
    if (quota)
      e = {429, "insufficient_quota", "insufficient_quota", "", ""};
    else if (limited)
      e = {429, "rate_limit_error", "rate_limit_exceeded", "", ""};
    else
      e = {503, "service_unavailable", "no_usable_provider", "", ""};
    e.message = "No usable provider for model \"" + std::string(model) + "\"" +
                (skipped_text.empty() ? "." : ". Skipped: " + skipped_text + ".");
    return e;
  }
  bool all_quota = true, all_limited = true, all_timeout = true, all_overloaded = true;
  std::string list;
  for (const auto& a : tried) {
    all_quota &= a.failure == Failure::kQuotaExhausted;
    all_limited &= a.failure == Failure::kQuotaExhausted || a.failure == Failure::kRateLimited;
    all_timeout &= a.failure == Failure::kFirstByteTimeout || a.failure == Failure::kIdleTimeout;
    all_overloaded &= a.failure == Failure::kServer && (a.status == 503 || a.status == 529);
    list += (list.empty() ? "" : "; ") + describe(a);
  }
  if (all_quota) {
    e = {429, "insufficient_quota", "insufficient_quota", "", ""};
  } else if (all_limited) {
    e = {429, "rate_limit_error", "rate_limit_exceeded", "", ""};
  } else if (all_overloaded) {
    e = {503, "server_error", "overloaded", "", ""};  // Anthropic clients: 529 overloaded_error
  } else if (all_timeout) {
    e = {504, "timeout_error", "upstream_timeout", "", ""};
  } else {
    e = {502, "upstream_error", "all_providers_failed", "", ""};
  }
  e.message = "All providers failed for model \"" + std::string(model) + "\". Tried: " + list + "." +
              (attempts_capped ? " (maximum number of attempts reached)" : "") +
              (skipped_text.empty() ? "" : " Skipped: " + skipped_text + ".");
  return e;
}

std::string attempts_header(const std::vector<AttemptRecord>& tried, bool last_ok) {
  std::string h;
  for (size_t i = 0; i < tried.size(); ++i) {
    const auto& a = tried[i];
    if (!h.empty()) h += ';';
    h += a.provider_id + '=';
    if (i + 1 == tried.size() && last_ok)
      h += "ok";
    else if (a.status >= 400)
      h += std::to_string(a.status);
    else
      h += failure_name(a.failure);
  }
  return h;
}

}  // namespace lingmo::failover
