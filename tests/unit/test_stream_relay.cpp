#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "openai/stream.h"
#include "test_support.h"

using lingmo::openai::BodyKind;
using lingmo::openai::StreamRelay;
using lingmo::openai::Usage;
using lingmo::test::data_event;
using lingmo::test::frame;
using lingmo::test::kChunkSizes;
using lingmo::test::parse_json;
namespace openai = lingmo::openai;

namespace {

using Status = StreamRelay::Status;

// A chat.completion.chunk; `usage` is the JSON of its usage member, empty for none.
std::string chunk(const std::string& choices, const std::string& usage) {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o",)"
         R"("choices":)" + choices + (usage.empty() ? "" : R"(,"usage":)" + usage) + "}";
}
std::string delta(const std::string& delta, const std::string& finish = "null") {
  return R"([{"index":0,"delta":)" + delta + R"(,"finish_reason":)" + finish + "}]";
}

const std::string kUsage = R"({"prompt_tokens":12,"completion_tokens":2,"total_tokens":14})";
const std::vector<std::string> kChoices = {
    delta(R"({"role":"assistant","content":""})"),
    delta(R"({"content":"Hello"})"),
    delta(R"({"content":" world"})"),
    delta("{}", "\"stop\""),
};

// A realistic OpenAI stream with include_usage on: "usage":null on every content chunk, then the
// usage-only chunk (choices:[]), then [DONE]. Each element is the data of one event.
std::vector<std::string> upstream_events() {
  std::vector<std::string> v;
  for (const auto& c : kChoices) v.push_back(chunk(c, "null"));
  v.push_back(chunk("[]", kUsage));
  v.push_back("[DONE]");
  return v;
}

// What a client that did not ask for usage gets: the same chunks with no usage at all.
std::vector<std::string> events_without_usage() {
  std::vector<std::string> v;
  for (const auto& c : kChoices) v.push_back(chunk(c, ""));
  v.push_back("[DONE]");
  return v;
}

// The bytes of one "data:" event per element, as the relay writes them.
std::string relayed(const std::vector<std::string>& data) {
  std::string s;
  for (const auto& d : data) s += "data: " + d + "\n\n";
  return s;
}

// The upstream stream: as relayed, plus a keep-alive comment (DeepSeek sends them).
std::string sse(const std::vector<std::string>& data) { return ": keep-alive\n\n" + relayed(data); }

// The JSON of a single relayed "data: {...}\n\n" event.
rapidjson::Document relayed_json(const std::string& out) {
  REQUIRE_THAT(out, Catch::StartsWith("data: ") && Catch::EndsWith("\n\n"));
  return parse_json(std::string_view(out).substr(6, out.size() - 8));
}

struct Relayed {
  std::string out;
  std::vector<Status> statuses;
  Usage usage;
  bool done = false;
};

// Frames `stream` at `chunk_size` and passes every event through a fresh relay.
Relayed relay(const std::string& stream, bool client_wants_usage, size_t chunk_size) {
  StreamRelay r(client_wants_usage);
  Relayed res;
  for (const auto& ev : frame(stream, chunk_size)) res.statuses.push_back(r.on_event(ev, res.out));
  res.usage = r.usage();
  res.done = r.done();
  return res;
}

Status relay_one(StreamRelay& r, const std::string& data, std::string& out) {
  return r.on_event(data_event(data), out);
}

void check_usage(const Usage& u, int64_t prompt, int64_t completion, int64_t total) {
  CHECK(u.present);
  CHECK(u.prompt_tokens == prompt);
  CHECK(u.completion_tokens == completion);
  CHECK(u.total_tokens == total);
}

}  // namespace

TEST_CASE("relay hides the usage chunk the client did not ask for, but still counts it", "[relay]") {
  for (size_t chunk_size : kChunkSizes) {
    CAPTURE(chunk_size);
    Relayed r = relay(sse(upstream_events()), false, chunk_size);
    CHECK(r.out == relayed(events_without_usage()));
    CHECK(r.statuses == std::vector<Status>(upstream_events().size(), Status::kOk));
    check_usage(r.usage, 12, 2, 14);
    CHECK(r.done);
  }
}

TEST_CASE("relay forwards the usage chunk when the client asked for it", "[relay]") {
  for (size_t chunk_size : kChunkSizes) {
    CAPTURE(chunk_size);
    Relayed r = relay(sse(upstream_events()), true, chunk_size);
    CHECK(r.out == relayed(upstream_events()));
    check_usage(r.usage, 12, 2, 14);
    CHECK(r.done);
  }
}

TEST_CASE("relay strips usage from a chunk that also carries choices", "[relay]") {
  const std::string mixed = chunk(delta("{}", "\"stop\""), kUsage);

  StreamRelay hide(false);
  std::string out;
  REQUIRE(relay_one(hide, mixed, out) == Status::kOk);
  auto d = relayed_json(out);
  CHECK_FALSE(d.HasMember("usage"));
  CHECK(d["choices"] == parse_json(delta("{}", "\"stop\"")));
  CHECK(std::string(d["id"].GetString()) == "chatcmpl-1");
  check_usage(hide.usage(), 12, 2, 14);

  StreamRelay show(true);
  std::string verbatim;
  REQUIRE(relay_one(show, mixed, verbatim) == Status::kOk);
  CHECK(verbatim == "data: " + mixed + "\n\n");
}

TEST_CASE("relay drops \"usage\":null only for a client that did not ask for usage", "[relay]") {
  // Also with "usage":null in an unusual place: first member, or text inside a string.
  const std::string tricky = R"({"usage":null,"id":"x,\"usage\":null","choices":[{"index":0,"delta":{"content":",\"usage\":null"}}]})";
  for (const std::string& data : {chunk(kChoices[1], "null"), tricky}) {
    CAPTURE(data);
    StreamRelay hide(false), show(true);
    std::string hidden, shown;
    REQUIRE(relay_one(hide, data, hidden) == Status::kOk);
    REQUIRE(relay_one(show, data, shown) == Status::kOk);
    CHECK(shown == "data: " + data + "\n\n");

    auto got = relayed_json(hidden), original = parse_json(data);
    CHECK(lingmo::test::count_members(got, "usage") <= 1);
    if (got.HasMember("usage")) CHECK(got["usage"].IsNull());
    original.RemoveMember("usage");
    got.RemoveMember("usage");
    CHECK(got == original);  // nothing else changed
    CHECK_FALSE(hide.usage().present);
  }
  std::string out;
  StreamRelay hide(false);
  REQUIRE(relay_one(hide, chunk(kChoices[1], "null"), out) == Status::kOk);
  CHECK(out == "data: " + chunk(kChoices[1], "") + "\n\n");
}

// SSE lets one event's data span several "data:" lines (joined with \n), e.g. pretty-printed JSON.
TEST_CASE("relay keeps multi-line data inside one event", "[relay]") {
  const std::string pretty = "{\"id\":\"chatcmpl-1\",\n\"choices\":" + kChoices[1] + "\n}";
  const std::string upstream = "data: {\"id\":\"chatcmpl-1\",\ndata: \"choices\":" + kChoices[1] + "\ndata: }\n\n";
  for (bool wants_usage : {false, true}) {
    for (size_t chunk_size : kChunkSizes) {
      CAPTURE(wants_usage, chunk_size);
      Relayed r = relay(upstream, wants_usage, chunk_size);
      REQUIRE(r.statuses == std::vector<Status>{Status::kOk});
      CHECK(frame(r.out, lingmo::test::kWhole) == std::vector<lingmo::sse::Event>{data_event(pretty)});
    }
  }
}

TEST_CASE("relay: a NUL byte after the JSON object makes the event malformed", "[relay]") {
  // RapidJSON stops at NUL as if the text ended there; the bytes after it must not be relayed.
  const std::string data = chunk(kChoices[1], "null") + std::string(1, '\0') + "\ndata: [DONE]";
  StreamRelay r(true);
  std::string out;
  CHECK(relay_one(r, data, out) == Status::kMalformed);
  CHECK(out.empty());
}

// substantive(): the gateway holds relayed bytes back until an event carries more than set-up, so
// a vendor failing right after its role-only first chunk can still be failed over unseen.
TEST_CASE("relay: set-up chunks are not substantive", "[relay]") {
  auto setup = GENERATE(as<std::string>{},
                        chunk(delta(R"({"role":"assistant","content":""})"), "null"),
                        chunk(delta(R"({"role":"assistant"})"), ""),
                        chunk(delta(R"({"role":"assistant","content":null,"refusal":null})"), "null"),
                        chunk(R"([{"index":0,"delta":{"role":"assistant"}},{"index":1,"delta":{"content":""}}])", "null"),
                        // Azure OpenAI opens with choices:[] and its content-filter results.
                        R"({"id":"","object":"","created":0,"model":"","choices":[],"prompt_filter_results":[]})");
  CAPTURE(setup);
  for (bool wants_usage : {false, true}) {
    StreamRelay r(wants_usage);
    std::string out;
    REQUIRE(relay_one(r, setup, out) == Status::kOk);
    CHECK_FALSE(out.empty());  // relayed (the caller decides when to send it)
    CHECK_FALSE(r.substantive());
  }
}

TEST_CASE("relay: content, tool calls, finish, usage and [DONE] are substantive", "[relay]") {
  auto data = GENERATE(as<std::string>{},
                       chunk(delta(R"({"content":"Hello"})"), "null"),
                       chunk(delta(R"({"role":"assistant","content":"H"})"), "null"),
                       chunk(delta(R"({"tool_calls":[{"index":0,"id":"call_1","type":"function"}]})"), "null"),
                       chunk(delta(R"({"reasoning_content":"Let me think"})"), "null"),
                       chunk(delta("{}", "\"stop\""), "null"),
                       chunk("[]", kUsage),
                       "[DONE]");
  CAPTURE(data);
  StreamRelay r(false);
  std::string out;
  REQUIRE(relay_one(r, chunk(delta(R"({"role":"assistant","content":""})"), "null"), out) == Status::kOk);
  REQUIRE_FALSE(r.substantive());
  REQUIRE(relay_one(r, data, out) == Status::kOk);
  CHECK(r.substantive());
  REQUIRE(relay_one(r, chunk(delta(R"({"role":"assistant"})"), "null"), out) == Status::kOk);
  CHECK(r.substantive());  // stays set
}

TEST_CASE("relay: the realistic stream becomes substantive at its first content chunk", "[relay]") {
  StreamRelay r(false);
  std::string out;
  std::vector<bool> seen;
  for (const auto& data : upstream_events()) {
    REQUIRE(relay_one(r, data, out) == Status::kOk);
    seen.push_back(r.substantive());
  }
  CHECK(seen == std::vector<bool>{false, true, true, true, true, true});
}

TEST_CASE("relay: total_tokens defaults to prompt + completion", "[relay]") {
  StreamRelay r(false);
  std::string out;
  REQUIRE(relay_one(r, chunk("[]", R"({"prompt_tokens":5,"completion_tokens":7})"), out) == Status::kOk);
  CHECK(out.empty());
  check_usage(r.usage(), 5, 7, 12);
}

TEST_CASE("relay: [DONE] is forwarded and sets done()", "[relay]") {
  StreamRelay r(false);
  std::string out;
  REQUIRE(relay_one(r, chunk(delta(R"({"content":"x"})"), "null"), out) == Status::kOk);
  CHECK_FALSE(r.done());
  REQUIRE(relay_one(r, "[DONE]", out) == Status::kOk);
  CHECK(r.done());
  CHECK_THAT(out, Catch::EndsWith("data: [DONE]\n\n"));
  CHECK_FALSE(r.usage().present);
}

TEST_CASE("relay: an event that is not a JSON object is malformed and not relayed", "[relay]") {
  auto bad = GENERATE(as<std::string>{}, "{\"id\":", "[1,2]", "hello", "");
  CAPTURE(bad);
  StreamRelay r(true);
  std::string out = "before";
  CHECK(relay_one(r, bad, out) == Status::kMalformed);
  CHECK(out == "before");
  CHECK_THAT(r.error_message(), Catch::Contains("not a JSON object"));
}

TEST_CASE("relay: an error event is reported with the vendor's message", "[relay]") {
  StreamRelay r(true);
  std::string out;
  CHECK(relay_one(r, R"({"error":{"message":"Rate limit reached for gpt-4o","type":"rate_limit_error"}})", out) ==
        Status::kUpstreamError);
  CHECK(out.empty());
  CHECK_THAT(r.error_message(), Catch::Contains("mid-stream") && Catch::Contains("Rate limit reached for gpt-4o"));

  StreamRelay plain(true);
  CHECK(relay_one(plain, R"({"error":"overloaded"})", out) == Status::kUpstreamError);
  CHECK_THAT(plain.error_message(), Catch::Contains("\"overloaded\""));
}

TEST_CASE("read_usage reads usage objects and ignores null or missing usage", "[relay]") {
  Usage u;
  CHECK(openai::read_usage(chunk("[]", kUsage), u));
  check_usage(u, 12, 2, 14);
  Usage none;
  CHECK_FALSE(openai::read_usage(chunk("[]", "null"), none));
  CHECK_FALSE(openai::read_usage("{}", none));
  CHECK_FALSE(openai::read_usage("not json", none));
  CHECK_FALSE(none.present);
}

TEST_CASE("inspect_completion classifies non-stream bodies", "[relay]") {
  const std::string completion =
      R"({"id":"chatcmpl-2","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":)" + kUsage + "}";

  Usage u;
  CHECK(openai::inspect_completion(completion, u) == BodyKind::kCompletion);
  check_usage(u, 12, 2, 14);

  Usage no_usage;
  CHECK(openai::inspect_completion(R"({"choices":[]})", no_usage) == BodyKind::kCompletion);
  CHECK_FALSE(no_usage.present);

  Usage unused;
  CHECK(openai::inspect_completion(R"({"error":{"message":"quota","type":"insufficient_quota"}})", unused) ==
        BodyKind::kError);
  for (const char* bad : {"", "not json", "[]", R"({"id":"x","object":"chat.completion"})", "{\"choices\":"}) {
    CAPTURE(bad);
    CHECK(openai::inspect_completion(bad, unused) == BodyKind::kMalformed);
  }
  CHECK_FALSE(unused.present);
}
