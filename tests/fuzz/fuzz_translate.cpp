// libFuzzer target for the translators (shared/translate/): the first three bytes pick the
// client API, the vendor dialect and what the rest of the input is:
//   0: a client request -> parse_client_request, then the vendor request for the dialect;
//   1: a vendor stream  -> SSE framer (split at a data-derived point) -> Translator::on_event/on_end;
//   2: a vendor body    -> Translator::on_body.
// Invariants (besides the sanitizers): vendor bodies and translated bodies are JSON objects, and
// every translated stream re-frames into events whose data is JSON (or [DONE]).
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sse/framer.h"
#include "translate/translator.h"

using namespace lingmo;
using namespace lingmo::translate;

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace {

constexpr ClientApi kApis[] = {ClientApi::kChat, ClientApi::kMessages, ClientApi::kResponses, ClientApi::kEmbeddings,
                               ClientApi::kCountTokens};
constexpr VendorDialect kDialects[] = {VendorDialect::kOpenAI, VendorDialect::kAnthropic, VendorDialect::kGemini};
constexpr const char* kDialectNames[] = {"openai", "anthropic", "gemini"};

bool json_object(std::string_view s) {
  rapidjson::Document d;
  d.Parse(s.data(), s.size());
  return !d.HasParseError() && d.IsObject();
}

void check_stream_output(const std::string& out) {
  sse::Framer f;
  std::vector<sse::Event> events;
  FUZZ_CHECK(f.feed(out, events));
  FUZZ_CHECK(!f.mid_event());
  for (const auto& ev : events) FUZZ_CHECK(ev.data == "[DONE]" || json_object(ev.data));
}

// A small fixed client request per API, for the vendor-side modes.
const ClientRequest& client(ClientApi api, bool stream) {
  static ClientRequest cache[5][2];
  static bool ready[5][2] = {};
  size_t i = static_cast<size_t>(api), s = stream ? 1 : 0;
  if (!ready[i][s]) {
    std::string st = stream ? "true" : "false";
    std::string body;
    switch (api) {
      case ClientApi::kChat: body = R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":)" + st + "}"; break;
      case ClientApi::kMessages: body = R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"stream":)" + st + "}"; break;
      case ClientApi::kResponses: body = R"({"model":"m","input":"x","tools":[{"type":"custom","name":"c"}],"stream":)" + st + "}"; break;
      case ClientApi::kEmbeddings: body = R"({"model":"m","input":"x"})"; break;
      case ClientApi::kCountTokens: body = R"({"model":"m","messages":[{"role":"user","content":"x"}]})"; break;
    }
    ApiError err;
    FUZZ_CHECK(parse_client_request(api, body, cache[i][s], err));
    ready[i][s] = true;
  }
  return cache[i][s];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  ClientApi api = kApis[data[0] % 5];
  size_t dialect = data[1] % 3;
  int mode = data[2] % 3;
  bool stream = (data[2] / 3) % 2 == 1;
  std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);
  if (!Translator::supports(api, kDialects[dialect])) return 0;
  config::Provider p;
  p.dialect = kDialectNames[dialect];
  p.max_output_tokens = data[1] & 0x80 ? 1000 : 0;
  p.replay_reasoning = data[1] & 0x40;

  if (mode == 0) {
    ClientRequest req;
    ApiError err;
    if (!parse_client_request(api, in, req, err)) {
      FUZZ_CHECK(err.status == 400 && !err.message.empty());
      return 0;
    }
    Translator t(req, kDialects[dialect], 0);
    VendorRequest vr = t.request({&p, "upstream-model"});
    FUZZ_CHECK(json_object(vr.body));
    FUZZ_CHECK(!vr.path.empty() && vr.path[0] == '/');
    if (dialect != 2) {
      rapidjson::Document d;
      d.Parse(vr.body.data(), vr.body.size());
      FUZZ_CHECK(d.HasMember("model") && d["model"] == "upstream-model");
    }
    if (api != ClientApi::kCountTokens) (void)estimate_input_tokens(req);
    else FUZZ_CHECK(estimate_input_tokens(req) > 0);
    return 0;
  }

  Translator t(client(api, stream), kDialects[dialect], 0);
  if (mode == 2) {
    std::string out;
    if (t.on_body(in, out) == BodyKind::kAnswer) FUZZ_CHECK(json_object(out));
    return 0;
  }
  sse::Framer framer;
  size_t cut = in.empty() ? 0 : static_cast<size_t>(data[0]) % (in.size() + 1);
  std::string out;
  Status st = Status::kOk;
  for (std::string_view part : {in.substr(0, cut), in.substr(cut)}) {
    std::vector<sse::Event> events;
    if (!framer.feed(part, events)) break;
    for (const auto& ev : events)
      if (st == Status::kOk) st = t.on_event(ev, out);
  }
  if (st == Status::kOk) st = t.on_end(out);
  if (st != Status::kOk) FUZZ_CHECK(!t.error().empty());
  check_stream_output(out);
  (void)t.usage();
  (void)t.streamed_chars();
  return 0;
}
