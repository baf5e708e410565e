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

std::string chunk(const std::string& choices, const std::string& usage = "null") {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o",)"
         R"("choices":)" + choices + R"(,"usage":)" + usage + "}";
}
std::string delta(const std::string& delta, const std::string& finish = "null") {
  return R"([{"index":0,"delta":)" + delta + R"(,"finish_reason":)" + finish + "}]";
}

const std::string kUsage = R"({"prompt_tokens":12,"completion_tokens":2,"total_tokens":14})";

// The data of each event of a realistic OpenAI stream with include_usage on.
const std::vector<std::string> kEventData = {
    chunk(delta(R"({"role":"assistant","content":""})")),
    chunk(delta(R"({"content":"Hello"})")),
    chunk(delta(R"({"content":" world"})")),
    chunk(delta("{}", "\"stop\"")),
    chunk("[]", kUsage),  // the usage-only chunk
    "[DONE]",
};
constexpr size_t kUsageChunk = 4;

// The bytes of one "data:" event per element, as the relay writes them.
std::string relayed(const std::vector<std::string>& data) {
  std::string s;
  for (const auto& d : data) s += "data: " + d + "\n\n";
  return s;
}

// The upstream stream: as relayed, plus a keep-alive comment (DeepSeek sends them).
std::string sse(const std::vector<std::string>& data) { return ": keep-alive\n\n" + relayed(data); }

std::vector<std::string> without(std::vector<std::string> v, size_t index) {
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(index));
  return v;
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
    Relayed r = relay(sse(kEventData), false, chunk_size);
    CHECK(r.out == relayed(without(kEventData, kUsageChunk)));
    CHECK(r.statuses == std::vector<Status>(kEventData.size(), Status::kOk));
    check_usage(r.usage, 12, 2, 14);
    CHECK(r.done);
  }
}

TEST_CASE("relay forwards the usage chunk when the client asked for it", "[relay]") {
  for (size_t chunk_size : kChunkSizes) {
    CAPTURE(chunk_size);
    Relayed r = relay(sse(kEventData), true, chunk_size);
    CHECK(r.out == relayed(kEventData));
    check_usage(r.usage, 12, 2, 14);
    CHECK(r.done);
  }
}

TEST_CASE("relay strips usage from a chunk that also carries choices", "[relay]") {
  const std::string mixed = chunk(delta("{}", "\"stop\""), kUsage);

  StreamRelay hide(false);
  std::string out;
  REQUIRE(relay_one(hide, mixed, out) == Status::kOk);
  REQUIRE_THAT(out, Catch::StartsWith("data: ") && Catch::EndsWith("\n\n"));
  auto d = parse_json(std::string_view(out).substr(6, out.size() - 8));
  CHECK_FALSE(d.HasMember("usage"));
  CHECK(d["choices"] == parse_json(delta("{}", "\"stop\"")));
  CHECK(std::string(d["id"].GetString()) == "chatcmpl-1");
  check_usage(hide.usage(), 12, 2, 14);

  StreamRelay show(true);
  std::string verbatim;
  REQUIRE(relay_one(show, mixed, verbatim) == Status::kOk);
  CHECK(verbatim == "data: " + mixed + "\n\n");
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
  REQUIRE(relay_one(r, chunk(delta(R"({"content":"x"})")), out) == Status::kOk);
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
  CHECK_FALSE(openai::read_usage(chunk("[]"), none));
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
