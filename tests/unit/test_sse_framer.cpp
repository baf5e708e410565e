#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sse/framer.h"
#include "test_support.h"

using lingmo::sse::Event;
using lingmo::sse::Framer;
using lingmo::test::data_event;
using lingmo::test::frame;
using lingmo::test::kChunkSizes;

namespace {

// Every line-ending style, a comment, multi-line data, event/id fields, a field without a colon and
// an event without data.
const std::string kFixture =
    ": keep-alive\r\n"
    "\r\n"  // a comment-only block dispatches nothing
    "event: message\r\n"
    "id: 1\r\n"
    "data: {\"a\":1}\r\n"
    "\r\n"
    "data: line one\r"
    "retry: 3000\r"  // unknown to the framer: ignored
    "data: line two\r"
    "\r"
    "data:no-space\n"
    "data:  two spaces\n"
    "\n"
    "data\n"  // no colon: a data field with an empty value
    "\n"
    "data: [DONE]\n"
    "\n"
    "id: 42\n"
    "event: ping\n"
    "\n";  // no data: not dispatched

const std::vector<Event> kExpected = {
    data_event("{\"a\":1}", "message", "1"),
    data_event("line one\nline two"),
    data_event("no-space\n two spaces"),
    data_event(""),
    data_event("[DONE]"),
};

}  // namespace

TEST_CASE("framer yields the same events at chunk sizes 1, 7 and whole", "[sse]") {
  for (size_t chunk : kChunkSizes) {
    CAPTURE(chunk);
    CHECK(frame(kFixture, chunk) == kExpected);
  }
}

TEST_CASE("framer handles a split exactly between CR and LF", "[sse]") {
  int crlf_splits = 0;
  for (size_t i = 0; i + 1 < kFixture.size(); ++i) {
    if (kFixture[i] != '\r' || kFixture[i + 1] != '\n') continue;
    CAPTURE(i);
    std::string_view all(kFixture);
    CHECK(frame({all.substr(0, i + 1), all.substr(i + 1)}) == kExpected);
    ++crlf_splits;
  }
  CHECK(crlf_splits == 6);
}

TEST_CASE("framer yields the same events wherever a two-part split falls", "[sse]") {
  std::string_view all(kFixture);
  for (size_t i = 0; i <= all.size(); ++i) {
    CAPTURE(i);
    REQUIRE(frame({all.substr(0, i), all.substr(i)}) == kExpected);
  }
}

TEST_CASE("framer: CR CR and LF CR LF each end a line and then an event", "[sse]") {
  CHECK(frame("data: a\r\rdata: b\n\r\n", 1) == std::vector<Event>{data_event("a"), data_event("b")});
}

TEST_CASE("framer: blank lines and data-less blocks dispatch nothing", "[sse]") {
  auto input = GENERATE(as<std::string>{}, "\n\n\r\n\r\r", ": comment\n\n", "event: x\n\n", "id: 7\r\n\r\n",
                        "retry: 10\n\n");
  CAPTURE(input);
  CHECK(frame(input, 1).empty());
}

TEST_CASE("framer: mid_event reports an unfinished event", "[sse]") {
  Framer f;
  std::vector<Event> out;
  CHECK_FALSE(f.mid_event());

  REQUIRE(f.feed("data: part", out));
  CHECK(f.mid_event());  // a partial line
  REQUIRE(f.feed("ial\n", out));
  CHECK(f.mid_event());  // a whole line, but no blank line yet
  CHECK(out.empty());
  REQUIRE(f.feed("\n", out));
  CHECK_FALSE(f.mid_event());
  CHECK(out == std::vector<Event>{data_event("partial")});

  REQUIRE(f.feed(": keep-al", out));
  CHECK(f.mid_event());
}

TEST_CASE("framer: an event over the size cap fails the framer for good", "[sse]") {
  std::vector<Event> out;

  SECTION("one long line") {
    Framer f(16);
    CHECK_FALSE(f.feed("data: 0123456789abcdef\n\n", out));
    CHECK(f.failed());
  }
  SECTION("the cap is per event, across lines and feeds") {
    Framer f(16);
    REQUIRE(f.feed("data: 0123\n", out));  // 10 bytes
    CHECK_FALSE(f.feed("data: 4567\n", out));
    CHECK(f.failed());
  }
  SECTION("after failing, even valid input is refused") {
    Framer f(8);
    CHECK_FALSE(f.feed("data: 0123456789", out));
    CHECK_FALSE(f.feed("\n\ndata: x\n\n", out));
    CHECK(f.failed());
  }
  CHECK(out.empty());
}

TEST_CASE("framer: the cap resets after every event", "[sse]") {
  Framer f(16);
  std::vector<Event> out;
  for (int i = 0; i < 10; ++i) REQUIRE(f.feed("data: 0123456789\n\n", out));  // 16 bytes each
  CHECK(out.size() == 10);
  CHECK_FALSE(f.failed());
}
