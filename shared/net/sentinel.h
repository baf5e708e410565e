// Redis Sentinel, the pure parts: reading a list of sentinels, the answer of `SENTINEL
// get-master-addr-by-name`, the `+switch-master` message and the error replies that mean "this
// node is a replica now". Shared by the nginx module (asynchronous, ngx_module/sentinel.cpp) and
// the control plane's blocking client (controlplane/common/redis_sync.cpp); docs/SCALING.md.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lingmo::net {

struct HostPort {
  std::string host;  // an IP literal, or a name where the caller may resolve one (never in a worker)
  int port = 0;
  std::string str() const;  // "10.0.0.1:6379", "[::1]:6379"
  bool operator==(const HostPort& o) const { return host == o.host && port == o.port; }
  bool operator!=(const HostPort& o) const { return !(*this == o); }
};

// True for "10.0.0.1", "::1", "fe80::1"; false for names and anything else.
bool is_ip_literal(std::string_view host);

// "10.0.0.1:26379, 10.0.0.2, [::1]:26380": an item without a port gets `default_port`; a bare
// IPv6 address (more than one ':' and no brackets) has no port. Empty items, bad ports (outside
// 1-65535) and an empty list are errors.
Result<std::vector<HostPort>> parse_host_ports(std::string_view list, int default_port);

// The answer of SENTINEL get-master-addr-by-name, as its elements: {ip, port}. Empty when it is
// not an address (the sentinel answers nil for a master name it does not monitor). With
// `ip_only`, a host name is refused too: an nginx worker cannot resolve one without blocking
// (Sentinel announces IPs unless `announce-hostnames` is on).
std::optional<HostPort> master_from_reply(const std::vector<std::string>& elements, bool ip_only);

// A +switch-master message, "<master name> <old ip> <old port> <new ip> <new port>": the new
// address when it is about `master`, else empty.
std::optional<HostPort> switch_master(std::string_view message, std::string_view master, bool ip_only);

// An error reply that means the node stopped being a writable master under us (a failover
// demoted it): READONLY (a replica refuses writes) or MASTERDOWN (a replica cut off from its
// master). Other errors (WRONGTYPE, NOSCRIPT, a Lua error...) say nothing about the node's role.
bool is_replica_error(std::string_view error);

}  // namespace lingmo::net
