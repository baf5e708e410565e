// Alert messages as each channel wants them: the body (and URL additions such as DingTalk's
// signature) for a generic webhook (JSON, HMAC-SHA256 signature header), DingTalk, Feishu/Lark,
// WeCom, Slack and Telegram, and the RFC 5322 text of an e-mail. Pure: no I/O; the control plane
// sends what this builds (controlplane/daemon/alerts.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lingmo::alerts {

struct Event {
  std::string kind;      // warn_level | exhausted | switched | all_exhausted | key_invalid | test
  std::string severity;  // info | warning | critical
  std::string title;     // one line
  std::string text;      // details, several lines allowed
  std::string provider;  // may be empty
  std::string model;     // may be empty
  int64_t ts_ms = 0;
};

// What to send: POST `url` (the channel's URL plus any query the channel's signing adds) with
// `body` and `headers`.
struct Outgoing {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
};

// `type`: webhook | dingtalk | feishu | wecom | slack | telegram. `secret`: the channel's signing
// secret (webhook HMAC, DingTalk and Feishu "sign"), may be empty. For telegram `url` is the bot
// API base (https://api.telegram.org/bot<TOKEN>) and `chat_id` the target chat.
Outgoing build(const std::string& type, const std::string& url, const std::string& secret, const std::string& chat_id,
               const Event& e);

// An e-mail (headers + body, CRLF line ends, RFC 5322 date) for SMTP; the sender (libcurl)
// dot-stuffs lines that start with ".".
std::string email(const std::string& from, const std::vector<std::string>& to, const Event& e);

// Hex HMAC-SHA256, and base64 HMAC-SHA256 (DingTalk, Feishu).
std::string hmac_sha256_hex(const std::string& key, const std::string& data);
std::string hmac_sha256_base64(const std::string& key, const std::string& data);

}  // namespace lingmo::alerts
