#include <catch2/catch.hpp>

#include "net/address_policy.h"

using namespace lingmo::net;

namespace {
std::string why(const char* ip, const char* allow = "") {
  auto a = Address::parse(ip);
  REQUIRE(a);
  return refusal(a.value(), parse_cidrs(allow).value());
}
}  // namespace

TEST_CASE("SSRF guard: the corpus of internal addresses is refused", "[ssrf]") {
  for (const char* ip : {"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1",
                         "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::",
                         "fe80::1", "fd00::1", "fc00::abcd", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
                         "::ffff:10.1.1.1", "64:ff9b::a9fe:a9fe"}) {
    INFO(ip);
    CHECK_FALSE(why(ip).empty());
  }
  CHECK(why("169.254.169.254") == "link-local (cloud metadata)");
  CHECK(why("::ffff:127.0.0.1") == "loopback");
}

TEST_CASE("SSRF guard: public addresses pass; the allowlist opens chosen ranges", "[ssrf]") {
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "104.18.6.192", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"}) {
    INFO(ip);
    CHECK(why(ip).empty());
  }
  CHECK(why("127.0.0.1", "127.0.0.0/8").empty());
  CHECK(why("::ffff:127.0.0.1", "127.0.0.0/8").empty());
  CHECK_FALSE(why("127.0.0.1", "10.0.0.0/8").empty());
  CHECK(why("10.1.2.3", "10.1.2.3").empty());
  CHECK_FALSE(why("10.1.2.4", "10.1.2.3").empty());
  CHECK(why("fd00::5", "fd00::/64").empty());
}

TEST_CASE("SSRF guard: allowlist parsing", "[ssrf]") {
  CHECK(parse_cidrs(" 127.0.0.0/8 , ::1 ,").value().size() == 2);
  CHECK_FALSE(parse_cidrs("127.0.0.0/33"));
  CHECK_FALSE(parse_cidrs("localhost"));
  CHECK_FALSE(parse_cidrs("10.0.0.0/x"));
  CHECK_FALSE(Address::parse("1.2.3"));
}
