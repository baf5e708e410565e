// Which network addresses an admin-triggered outbound call may reach (the control plane's
// connectivity test and webhook sender): an SSRF guard. Public unicast addresses are allowed;
// loopback, private, link-local (incl. the cloud metadata address 169.254.169.254), CGNAT,
// unspecified, multicast and reserved ranges are refused unless an admin allowlist (CIDRs) says
// otherwise. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lingmo::net {

struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4
  static Result<Address> parse(std::string_view text);  // "203.0.113.7", "2001:db8::1"
  std::string str() const;
};

struct Cidr {
  Address base;
  int prefix = 0;
  bool contains(const Address& a) const;
};

// "127.0.0.0/8, ::1, 10.0.0.5/32" (a bare address is a host route).
Result<std::vector<Cidr>> parse_cidrs(std::string_view list);

// Empty if `a` may be reached; else why not ("loopback", "private", "link-local", ...).
std::string refusal(const Address& a, const std::vector<Cidr>& allow);

}  // namespace lingmo::net
