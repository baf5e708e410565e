// libFuzzer target for everything in shared/ that reads bytes a client or a vendor controls:
//   - a client's chat request: parse_chat_request, then build_upstream_body;
//   - a vendor's stream: the SSE framer (input split at a data-derived point) feeding StreamRelay,
//     with and without client_wants_usage;
//   - a vendor's non-stream body: inspect_completion; and its error body: classify_http.
// Besides the sanitizers it checks invariants and aborts when one breaks.
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "failover/outcome.h"
#include "openai/request.h"
#include "openai/stream.h"
#include "sse/framer.h"

using namespace lingmo;

// Aborts (a libFuzzer finding) when an invariant breaks.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace {

int count_members(const rapidjson::Value& obj, std::string_view name) {
  int n = 0;
  for (const auto& m : obj.GetObject())
    if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == name) ++n;
  return n;
}

void fuzz_request(std::string_view in) {
  openai::ChatRequest req;
  openai::ApiError err;
  if (!openai::parse_chat_request(in, req, err)) {
    FUZZ_CHECK(err.status == 400 && !err.message.empty());
    return;
  }
  FUZZ_CHECK(!req.model.empty());
  std::string body = openai::build_upstream_body(req, "upstream-model");

  // The vendor must see exactly one model (ours), no routing fields, and for streams usage on.
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  FUZZ_CHECK(!d.HasParseError() && d.IsObject());
  FUZZ_CHECK(count_members(d, "model") == 1 && d["model"] == "upstream-model");
  for (const char* f : {"api_base", "base_url", "api_key", "api_version", "custom_llm_provider"})
    FUZZ_CHECK(count_members(d, f) == 0);
  FUZZ_CHECK(count_members(d, "stream") <= 1);
  if (req.stream) {
    FUZZ_CHECK(d["stream"] == true);
    FUZZ_CHECK(count_members(d, "stream_options") == 1 && d["stream_options"].IsObject());
    FUZZ_CHECK(count_members(d["stream_options"], "include_usage") == 1);
    FUZZ_CHECK(d["stream_options"]["include_usage"] == true);
  }
}

struct Framed {
  std::vector<sse::Event> events;
  bool failed = false;
  bool mid_event = false;
};

Framed frame(const std::vector<std::string_view>& parts) {
  sse::Framer f(64 * 1024);
  Framed r;
  for (auto p : parts)
    if (!f.feed(p, r.events)) break;
  r.failed = f.failed();
  r.mid_event = f.mid_event();
  return r;
}

void fuzz_stream(std::string_view in, size_t split) {
  Framed split_feed = frame({in.substr(0, split), in.substr(split)});
  Framed whole_feed = frame({in});
  // Where the bytes were cut must not matter.
  FUZZ_CHECK(split_feed.failed == whole_feed.failed);
  FUZZ_CHECK(split_feed.mid_event == whole_feed.mid_event);
  FUZZ_CHECK(split_feed.events.size() == whole_feed.events.size());
  for (size_t i = 0; i < split_feed.events.size(); ++i) {
    const auto &a = split_feed.events[i], &b = whole_feed.events[i];
    FUZZ_CHECK(a.data == b.data && a.event == b.event && a.id == b.id);
  }

  for (bool wants_usage : {false, true}) {
    openai::StreamRelay relay(wants_usage);
    std::string out;
    for (const auto& ev : split_feed.events) {
      size_t before = out.size();
      auto st = relay.on_event(ev, out);
      if (st != openai::StreamRelay::Status::kOk) {
        FUZZ_CHECK(out.size() == before && !relay.error_message().empty());
        break;
      }
      if (out.size() > before) {  // exactly one event for the client: [DONE] or a JSON object
        Framed client = frame({std::string_view(out).substr(before)});
        FUZZ_CHECK(!client.failed && !client.mid_event && client.events.size() == 1);
        const std::string& data = client.events[0].data;
        if (data != "[DONE]") {
          rapidjson::Document d;
          d.Parse(data.data(), data.size());
          FUZZ_CHECK(!d.HasParseError() && d.IsObject() && data.find('\0') == std::string::npos);
        }
        if (wants_usage) FUZZ_CHECK(data == ev.data);  // relayed unchanged
      }
      if (relay.done() || relay.usage().present) FUZZ_CHECK(relay.substantive());
    }
  }
}

void fuzz_completion(std::string_view in) {
  openai::Usage usage;
  auto kind = openai::inspect_completion(in, usage);
  FUZZ_CHECK(!usage.present || kind == openai::BodyKind::kCompletion);
  openai::Usage u2;
  openai::read_usage(in, u2);
}

void fuzz_classify(std::string_view in) {
  long status = 400 + static_cast<unsigned char>(in[0]) % 200;  // 400..599: 402, 429 and 5xx included
  auto f = failover::classify_http(status, in.substr(1));
  FUZZ_CHECK(f != failover::Failure::kNone);
  FUZZ_CHECK(failover::failure_name(f) != nullptr);
  (void)failover::should_failover(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz_request(in);
  fuzz_stream(in, size ? data[size - 1] % (size + 1) : 0);
  fuzz_completion(in);
  if (size) fuzz_classify(in);
  return 0;
}
