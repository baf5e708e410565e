#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "usage/ledger.h"

using lingmo::usage::Batch;
using lingmo::usage::Counters;
using lingmo::usage::Ledger;
namespace usage = lingmo::usage;

namespace {

Counters request(int64_t prompt, int64_t completion, bool failed = false) {
  Counters c;
  c.requests = 1;
  c.prompt_tokens = prompt;
  c.completion_tokens = completion;
  c.total_tokens = prompt + completion;
  c.failures = failed ? 1 : 0;
  return c;
}

std::vector<int64_t> values(const Counters& c) {
  return {c.requests, c.prompt_tokens, c.completion_tokens, c.total_tokens, c.failures};
}

const Counters& entry(const Batch& b, const std::string& key) {
  auto it = std::find_if(b.entries.begin(), b.entries.end(), [&](const auto& e) { return e.first == key; });
  INFO("usage key " << key);
  REQUIRE(it != b.entries.end());
  return it->second;
}

}  // namespace

TEST_CASE("ledger aggregates per usage key", "[ledger]") {
  Ledger l;
  CHECK_FALSE(l.has_pending());
  CHECK(l.take_batch("b0") == nullptr);  // nothing to send

  REQUIRE(l.add("lingmo:usage:p1:2024-05-01", request(10, 5)));
  REQUIRE(l.add("lingmo:usage:p1:2024-05-01", request(3, 0, true)));
  REQUIRE(l.add("lingmo:usage:p2:2024-05-01", request(1, 1)));
  CHECK(l.has_pending());

  const Batch* b = l.take_batch("b1");
  REQUIRE(b != nullptr);
  CHECK(b->id == "b1");
  REQUIRE(b->entries.size() == 2);
  CHECK(values(entry(*b, "lingmo:usage:p1:2024-05-01")) == std::vector<int64_t>{2, 13, 5, 18, 1});
  CHECK(values(entry(*b, "lingmo:usage:p2:2024-05-01")) == std::vector<int64_t>{1, 1, 1, 2, 0});
}

TEST_CASE("take_batch freezes pending counters and a retry gets the same batch", "[ledger]") {
  Ledger l;
  l.add("k1", request(10, 5));
  const Batch* first = l.take_batch("b1");
  REQUIRE(first != nullptr);
  CHECK(l.in_flight());
  CHECK_FALSE(l.has_pending());

  l.add("k1", request(100, 50));  // arrives while b1 is in flight
  l.add("k2", request(1, 1));
  CHECK(l.has_pending());

  const Batch* retry = l.take_batch("b2");  // e.g. the EVAL reply was lost: same id, same contents
  REQUIRE(retry != nullptr);
  CHECK(retry->id == "b1");
  REQUIRE(retry->entries.size() == 1);
  CHECK(values(entry(*retry, "k1")) == std::vector<int64_t>{1, 10, 5, 15, 0});

  l.ack();
  CHECK_FALSE(l.in_flight());
  const Batch* next = l.take_batch("b3");
  REQUIRE(next != nullptr);
  CHECK(next->id == "b3");
  REQUIRE(next->entries.size() == 2);
  CHECK(values(entry(*next, "k1")) == std::vector<int64_t>{1, 100, 50, 150, 0});
  CHECK(values(entry(*next, "k2")) == std::vector<int64_t>{1, 1, 1, 2, 0});

  l.ack();
  CHECK(l.take_batch("b4") == nullptr);
}

TEST_CASE("ledger max_keys drops new keys but keeps aggregating known ones", "[ledger]") {
  Ledger l(2);
  CHECK(l.add("k1", request(1, 0)));
  CHECK(l.add("k2", request(1, 0)));
  CHECK_FALSE(l.add("k3", request(1, 0)));
  CHECK_FALSE(l.add("k4", request(1, 0)));
  CHECK(l.dropped() == 2);
  CHECK(l.add("k1", request(5, 0)));
  CHECK(l.dropped() == 2);

  const Batch* b = l.take_batch("b1");
  REQUIRE(b != nullptr);
  REQUIRE(b->entries.size() == 2);
  CHECK(entry(*b, "k1").prompt_tokens == 6);

  CHECK(l.add("k3", request(1, 0)));  // the buffer emptied into the batch: room again
}

TEST_CASE("eval_args lays out script, numkeys, marker, keys, ttl, six numbers per key, then expiries", "[ledger]") {
  Batch b;
  b.id = "b1";
  b.entries = {{"lingmo:usage:p1:2024-05-01", request(10, 5, true)}, {"lingmo:usage:p2:2024-05-01", request(7, 3)}};
  b.entries[1].second.cost_micros = 4200;
  b.ttl_s["lingmo:usage:p2:2024-05-01"] = 120;
  auto a = Ledger::eval_args(b, "lingmo:usage:batch:b1", 172800);

  const std::vector<std::string> expected = {
      "EVAL", usage::kApplyBatchScript, "3", "lingmo:usage:batch:b1",
      "lingmo:usage:p1:2024-05-01", "lingmo:usage:p2:2024-05-01",
      "172800",
      "1", "10", "5", "15", "1", "0",    // p1 in kFields order
      "1", "7", "3", "10", "0", "4200",  // p2
      "0", "120",                 // expiries: p1 none, p2 120 s
  };
  CHECK(a == expected);
  CHECK(std::vector<std::string>(std::begin(usage::kFields), std::end(usage::kFields)) ==
        std::vector<std::string>{"requests", "prompt_tokens", "completion_tokens", "total_tokens", "failures", "cost_micros"});
}

TEST_CASE("utc_day formats an epoch-milliseconds instant in UTC", "[ledger]") {
  CHECK(usage::utc_day(0) == "1970-01-01");
  CHECK(usage::utc_day(1700000000000) == "2023-11-14");
  CHECK(usage::utc_day(1704067199999) == "2023-12-31");  // last millisecond of 2023
  CHECK(usage::utc_day(1704067200000) == "2024-01-01");
  CHECK(usage::utc_day(951782400000) == "2000-02-29");
}

TEST_CASE("a key's expiry travels with its batch (the longest asked for)", "[ledger]") {
  Ledger l;
  l.add("lingmo:quota:p1:0:m1", request(1, 1), 60);
  l.add("lingmo:quota:p1:0:m1", request(1, 1), 90);
  l.add("lingmo:usage:p1:2024-05-01", request(1, 1));
  const Batch* b = l.take_batch("b1");
  REQUIRE(b);
  CHECK(b->ttl_s.at("lingmo:quota:p1:0:m1") == 90);
  CHECK(b->ttl_s.count("lingmo:usage:p1:2024-05-01") == 0);
}

TEST_CASE("acknowledged batches are kept for a failover replay within the window and the cap", "[ledger]") {
  Ledger l;
  l.add("k1", request(1, 1));
  l.take_batch("b1");
  l.ack(1000);
  CHECK(l.recent(1000).empty());  // no retention by default

  l.retain(10'000, 3);
  l.add("k1", request(1, 1));
  l.take_batch("b2");
  l.ack(2000);
  l.add("k1", request(1, 1));
  l.add("k2", request(1, 1));
  l.take_batch("b3");
  l.ack(5000);
  auto r = l.recent(6000);
  REQUIRE(r.size() == 2);
  CHECK(r[0].id == "b2");  // oldest first, unchanged: same id, same counters (the replay is idempotent)
  CHECK(r[1].id == "b3");
  CHECK(values(entry(r[1], "k2")) == std::vector<int64_t>{1, 1, 1, 2, 0});

  CHECK(l.recent(12'500).size() == 1);  // b2 (acked at 2000) is past the 10 s window
  CHECK(l.recent(15'001).empty());

  // The cap counts usage keys: a new batch pushes the oldest out.
  l.add("a", request(1, 0));
  l.add("b", request(1, 0));
  l.take_batch("b4");
  l.ack(20'000);
  l.add("c", request(1, 0));
  l.add("d", request(1, 0));
  l.take_batch("b5");
  l.ack(20'001);
  r = l.recent(20'002);
  REQUIRE(r.size() == 1);
  CHECK(r[0].id == "b5");
  CHECK_FALSE(l.in_flight());
}
