#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "alerts/message.h"

using namespace lingmo::alerts;

namespace {
Event sample() { return {"exhausted", "critical", "deepseek: quota exhausted", "parked until 00:00 UTC", "deepseek", "gpt-4o", 1767225600000}; }
rapidjson::Document parse(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}
}  // namespace

TEST_CASE("alerts: HMAC-SHA256 matches the RFC 4231 test vector", "[alerts]") {
  // RFC 4231 test case 2.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("alerts: a generic webhook gets the event as JSON, signed over the exact body", "[alerts]") {
  auto o = build("webhook", "https://hooks.example.com/x", "s3cret", "", sample());
  auto d = parse(o.body);
  CHECK(std::string(d["event"].GetString()) == "exhausted");
  CHECK(std::string(d["provider"].GetString()) == "deepseek");
  CHECK(std::string(d["time"].GetString()) == "2026-01-01T00:00:00Z");
  CHECK(o.url == "https://hooks.example.com/x");
  REQUIRE(o.headers.size() == 2);
  CHECK(o.headers[1] == "X-LingMo-Signature: sha256=" + hmac_sha256_hex("s3cret", o.body));
  CHECK(build("webhook", "u", "", "", sample()).headers.size() == 1);  // unsigned without a secret
}

TEST_CASE("alerts: IM channels get their own shapes; DingTalk and Feishu sign", "[alerts]") {
  auto ding = build("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=T", "SEC", "", sample());
  CHECK(std::string(parse(ding.body)["msgtype"].GetString()) == "text");
  CHECK(std::string(parse(ding.body)["text"]["content"].GetString()).find("deepseek: quota exhausted") != std::string::npos);
  CHECK(ding.url.find("&timestamp=1767225600000&sign=") != std::string::npos);
  auto fei = build("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/x", "SEC", "", sample());
  auto f = parse(fei.body);
  CHECK(std::string(f["msg_type"].GetString()) == "text");
  CHECK(std::string(f["timestamp"].GetString()) == "1767225600");
  CHECK(std::string(f["sign"].GetString()) == hmac_sha256_base64("1767225600\nSEC", ""));
  CHECK(std::string(parse(build("wecom", "u", "", "", sample()).body)["msgtype"].GetString()) == "text");
  CHECK(std::string(parse(build("slack", "u", "", "", sample()).body)["text"].GetString()).rfind("[LingMo critical]", 0) == 0);
  auto tg = build("telegram", "https://api.telegram.org/botTOKEN", "", "-100123", sample());
  CHECK(tg.url == "https://api.telegram.org/botTOKEN/sendMessage");
  CHECK(std::string(parse(tg.body)["chat_id"].GetString()) == "-100123");
}

TEST_CASE("alerts: e-mail text has CRLF lines, an RFC 5322 date, no header injection", "[alerts]") {
  Event e = sample();
  e.title = "evil\r\nBcc: victim@example.com";
  e.text = "line one\n.\nline three";
  std::string m = email("gw@example.com", {"ops@example.com", "b@example.com"}, e);
  CHECK(m.find("To: ops@example.com, b@example.com\r\n") != std::string::npos);
  CHECK(m.find("\r\nBcc:") == std::string::npos);
  CHECK(m.find("\r\n.\r\n") != std::string::npos);  // as written: libcurl stuffs the dot on the wire
  CHECK(m.find("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n") != std::string::npos);
  CHECK(m.find("line three\r\n") != std::string::npos);
}
