#include "alerts/message.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <ctime>

#include "crypto/crypto.h"
#include "util/json.h"

namespace lingmo::alerts {

namespace {

std::string hmac_raw(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string url_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string plain_text(const Event& e) {
  std::string t = "[LingMo " + e.severity + "] " + e.title;
  if (!e.text.empty()) t += "\n" + e.text;
  return t;
}

std::string rfc5322(int64_t ms) {  // "Thu, 01 Jan 2026 00:00:00 +0000" (e-mail Date header)
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string rfc3339(int64_t ms) {
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string hmac_sha256_hex(const std::string& key, const std::string& data) { return crypto::to_hex(hmac_raw(key, data)); }
std::string hmac_sha256_base64(const std::string& key, const std::string& data) { return crypto::base64_encode(hmac_raw(key, data)); }

Outgoing build(const std::string& type, const std::string& url, const std::string& secret, const std::string& chat_id,
               const Event& e) {
  Outgoing o{url, {}, {"Content-Type: application/json"}};
  std::string text = plain_text(e);
  if (type == "dingtalk") {
    o.body = "{\"msgtype\":\"text\",\"text\":{\"content\":" + json::quote(text) + "}}";
    if (!secret.empty()) {  // DingTalk "加签": timestamp + "\n" + secret, HMAC-SHA256 keyed by the secret
      std::string ts = std::to_string(e.ts_ms);
      o.url += std::string(url.find('?') == std::string::npos ? "?" : "&") + "timestamp=" + ts +
               "&sign=" + url_encode(hmac_sha256_base64(secret, ts + "\n" + secret));
    }
  } else if (type == "feishu") {
    std::string sign;
    if (!secret.empty()) {  // Feishu/Lark: HMAC-SHA256 keyed by timestamp + "\n" + secret over an empty message
      std::string ts = std::to_string(e.ts_ms / 1000);
      sign = ",\"timestamp\":" + json::quote(ts) + ",\"sign\":" + json::quote(hmac_sha256_base64(ts + "\n" + secret, ""));
    }
    o.body = "{\"msg_type\":\"text\",\"content\":{\"text\":" + json::quote(text) + "}" + sign + "}";
  } else if (type == "wecom") {
    o.body = "{\"msgtype\":\"text\",\"text\":{\"content\":" + json::quote(text) + "}}";
  } else if (type == "slack") {
    o.body = "{\"text\":" + json::quote(text) + "}";
  } else if (type == "telegram") {
    o.url = url + "/sendMessage";
    o.body = "{\"chat_id\":" + json::quote(chat_id) + ",\"text\":" + json::quote(text) + ",\"disable_web_page_preview\":true}";
  } else {  // generic webhook: the event itself, signed so the receiver can trust it
    o.body = "{\"event\":" + json::quote(e.kind) + ",\"severity\":" + json::quote(e.severity) + ",\"title\":" + json::quote(e.title) +
             ",\"text\":" + json::quote(e.text) + ",\"provider\":" + json::quote(e.provider) + ",\"model\":" + json::quote(e.model) +
             ",\"ts\":" + std::to_string(e.ts_ms) + ",\"time\":" + json::quote(rfc3339(e.ts_ms)) + "}";
    if (!secret.empty()) o.headers.push_back("X-LingMo-Signature: sha256=" + hmac_sha256_hex(secret, o.body));
  }
  return o;
}

std::string email(const std::string& from, const std::vector<std::string>& to, const Event& e) {
  std::string list;
  for (const auto& t : to) list += (list.empty() ? "" : ", ") + t;
  std::string subject = "[LingMo " + e.severity + "] " + e.title;
  for (char& c : subject)
    if (c == '\r' || c == '\n') c = ' ';  // no header injection through a provider name
  std::string body = e.text;
  std::string out = "From: " + from + "\r\nTo: " + list + "\r\nSubject: " + subject + "\r\nDate: " + rfc5322(e.ts_ms) +
                    "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  for (size_t pos = 0; pos <= body.size();) {  // CRLF lines (libcurl dot-stuffs them on the wire)
    size_t nl = body.find('\n', pos);
    std::string line = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out += line + "\r\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

}  // namespace lingmo::alerts
