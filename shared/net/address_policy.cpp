#include "net/address_policy.h"

#include <arpa/inet.h>

#include <cstring>

namespace lingmo::net {

namespace {

struct Range {
  const char* cidr;
  const char* why;
};

// IANA special-purpose registries (RFC 6890 and successors), what a server-side fetch must not reach.
constexpr Range kBlocked[] = {
    {"0.0.0.0/8", "unspecified"},       {"10.0.0.0/8", "private"},        {"100.64.0.0/10", "carrier-grade NAT"},
    {"127.0.0.0/8", "loopback"},        {"169.254.0.0/16", "link-local (cloud metadata)"},
    {"172.16.0.0/12", "private"},       {"192.0.0.0/24", "reserved"},      {"192.0.2.0/24", "documentation"},
    {"192.168.0.0/16", "private"},      {"198.18.0.0/15", "benchmarking"}, {"198.51.100.0/24", "documentation"},
    {"203.0.113.0/24", "documentation"}, {"224.0.0.0/4", "multicast"},     {"240.0.0.0/4", "reserved"},
    {"::/128", "unspecified"},          {"::1/128", "loopback"},           {"fc00::/7", "private (unique local)"},
    {"fe80::/10", "link-local"},        {"ff00::/8", "multicast"},         {"2001:db8::/32", "documentation"},
    {"64:ff9b::/96", "NAT64"},
};

Address to_v4(const Address& a) {  // ::ffff:a.b.c.d -> a.b.c.d
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!a.v6 || std::memcmp(a.bytes.data(), kMapped, 12) != 0) return a;
  Address v4;
  std::memcpy(v4.bytes.data(), a.bytes.data() + 12, 4);
  return v4;
}

}  // namespace

Result<Address> Address::parse(std::string_view text) {
  std::string s(text);
  Address a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return Result<Address>::fail("\"" + s + "\" is not an IP address");
}

std::string Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

bool Cidr::contains(const Address& raw) const {
  Address a = base.v6 ? raw : to_v4(raw);
  if (a.v6 != base.v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[static_cast<size_t>(full)] & mask) == (base.bytes[static_cast<size_t>(full)] & mask);
}

Result<std::vector<Cidr>> parse_cidrs(std::string_view list) {
  using R = Result<std::vector<Cidr>>;
  std::vector<Cidr> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    std::string_view item = list.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      size_t slash = item.find('/');
      auto addr = Address::parse(item.substr(0, slash));
      if (!addr) return R::fail(addr.error());
      int max = addr.value().v6 ? 128 : 32, prefix = max;
      if (slash != std::string_view::npos) {
        std::string p(item.substr(slash + 1));
        char* e = nullptr;
        long n = std::strtol(p.c_str(), &e, 10);
        if (p.empty() || *e || n < 0 || n > max) return R::fail("bad prefix length in \"" + std::string(item) + "\"");
        prefix = static_cast<int>(n);
      }
      out.push_back({addr.value(), prefix});
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

std::string refusal(const Address& raw, const std::vector<Cidr>& allow) {
  for (const auto& c : allow)
    if (c.contains(raw)) return {};
  Address a = to_v4(raw);
  static const std::vector<std::pair<Cidr, const char*>> blocked = [] {
    std::vector<std::pair<Cidr, const char*>> v;
    for (const auto& r : kBlocked) v.emplace_back(parse_cidrs(r.cidr).value().front(), r.why);
    return v;
  }();
  for (const auto& [cidr, why] : blocked)
    if (cidr.contains(a)) return why;
  return {};
}

}  // namespace lingmo::net
