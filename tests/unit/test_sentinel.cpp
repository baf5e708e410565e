#include <catch2/catch.hpp>

#include "net/sentinel.h"

using namespace lingmo::net;

TEST_CASE("sentinel: address lists", "[sentinel]") {
  auto l = parse_host_ports("10.0.0.1:26379, 10.0.0.2,[::1]:26380,redis-s3.internal:1", 26379);
  REQUIRE(l);
  REQUIRE(l.value().size() == 4);
  CHECK(l.value()[0] == HostPort{"10.0.0.1", 26379});
  CHECK(l.value()[1] == HostPort{"10.0.0.2", 26379});
  CHECK(l.value()[2] == HostPort{"::1", 26380});
  CHECK(l.value()[3] == HostPort{"redis-s3.internal", 1});
  CHECK(l.value()[2].str() == "[::1]:26380");
  CHECK(l.value()[0].str() == "10.0.0.1:26379");

  auto v6 = parse_host_ports("fe80::1", 26379);  // bare IPv6: no port in it
  REQUIRE(v6);
  CHECK(v6.value()[0] == HostPort{"fe80::1", 26379});
  auto bare = parse_host_ports("[::1]", 7);
  REQUIRE(bare);
  CHECK(bare.value()[0] == HostPort{"::1", 7});

  for (const char* bad : {"", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "a,,b", "10.0.0.1:26379,", ":26379",
                          "[::1", "[::1]x", "h:12a"}) {
    INFO(bad);
    CHECK_FALSE(parse_host_ports(bad, 26379));
  }
}

TEST_CASE("sentinel: the master address answer", "[sentinel]") {
  CHECK(master_from_reply({"127.0.0.1", "6380"}, true) == HostPort{"127.0.0.1", 6380});
  CHECK(master_from_reply({"::1", "6380"}, true) == HostPort{"::1", 6380});
  // A name can only be used where resolving it may block (the control plane), never in a worker.
  CHECK_FALSE(master_from_reply({"redis-a.internal", "6379"}, true));
  CHECK(master_from_reply({"redis-a.internal", "6379"}, false) == HostPort{"redis-a.internal", 6379});
  CHECK_FALSE(master_from_reply({}, false));  // nil: the sentinel does not monitor that name
  CHECK_FALSE(master_from_reply({"127.0.0.1"}, false));
  CHECK_FALSE(master_from_reply({"127.0.0.1", "x"}, false));
  CHECK_FALSE(master_from_reply({"127.0.0.1", "70000"}, false));
  CHECK_FALSE(master_from_reply({"", "6379"}, false));
}

TEST_CASE("sentinel: +switch-master messages", "[sentinel]") {
  CHECK(switch_master("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster", true) == HostPort{"127.0.0.1", 6380});
  CHECK_FALSE(switch_master("other 127.0.0.1 6379 127.0.0.1 6380", "mymaster", true));
  CHECK_FALSE(switch_master("mymaster2 127.0.0.1 6379 127.0.0.1 6380", "mymaster", true));
  CHECK_FALSE(switch_master("mymaster 127.0.0.1 6379 127.0.0.1", "mymaster", true));
  CHECK_FALSE(switch_master("mymaster 127.0.0.1 6379 host.internal 6380", "mymaster", true));
  CHECK(switch_master("mymaster 127.0.0.1 6379 host.internal 6380", "mymaster", false) == HostPort{"host.internal", 6380});
  CHECK_FALSE(switch_master("", "mymaster", true));
}

TEST_CASE("sentinel: errors that mean the node is a replica now", "[sentinel]") {
  CHECK(is_replica_error("READONLY You can't write against a read only replica."));
  CHECK(is_replica_error("READONLY You can't write against a read only replica. script: 1f2e, on @user_script:2."));
  CHECK(is_replica_error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."));
  CHECK_FALSE(is_replica_error("WRONGTYPE Operation against a key holding the wrong kind of value"));
  CHECK_FALSE(is_replica_error("ERR Error running script: READONLY inside"));
  CHECK_FALSE(is_replica_error("READONLYX"));
  CHECK_FALSE(is_replica_error(""));
}

TEST_CASE("sentinel: IP literals", "[sentinel]") {
  CHECK(is_ip_literal("127.0.0.1"));
  CHECK(is_ip_literal("::1"));
  CHECK(is_ip_literal("2001:db8::5"));
  CHECK_FALSE(is_ip_literal("localhost"));
  CHECK_FALSE(is_ip_literal("127.0.0.1 "));
  CHECK_FALSE(is_ip_literal("[::1]"));
  CHECK_FALSE(is_ip_literal(""));
}
