#include "openai/stream.h"

#include <rapidjson/document.h>

#include "util/json.h"

namespace lingmo::openai {

namespace {

bool usage_from(const rapidjson::Value& obj, Usage& out) {
  if (!obj.IsObject()) return false;
  auto it = obj.FindMember("usage");
  if (it == obj.MemberEnd() || !it->value.IsObject()) return false;
  out.present = true;
  out.prompt_tokens = json::get_int(it->value, "prompt_tokens");
  out.completion_tokens = json::get_int(it->value, "completion_tokens");
  out.total_tokens = json::get_int(it->value, "total_tokens", out.prompt_tokens + out.completion_tokens);
  if (auto pd = it->value.FindMember("prompt_tokens_details"); pd != it->value.MemberEnd())
    out.cached_tokens = json::get_int(pd->value, "cached_tokens");
  if (!out.cached_tokens) out.cached_tokens = json::get_int(it->value, "prompt_cache_hit_tokens");  // DeepSeek
  if (auto cd = it->value.FindMember("completion_tokens_details"); cd != it->value.MemberEnd())
    out.reasoning_tokens = json::get_int(cd->value, "reasoning_tokens");
  return true;
}

// Writes `data` as one SSE event. Event data may span lines (the framer joins "data:" lines with
// \n); each line needs its own "data: " prefix or the client would read the rest as other fields.
void append_event(std::string& out, std::string_view data) {
  for (size_t start = 0;;) {
    size_t nl = data.find('\n', start);
    out += "data: ";
    out += data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += '\n';
}

// A chunk that only sets the stream up: every choice's delta has at most a role and empty content,
// and nothing has finished.
bool is_lifecycle_chunk(const rapidjson::Value& d) {
  auto choices = d.FindMember("choices");
  // choices:[] without usage sets up too (Azure OpenAI opens with its prompt_filter_results so).
  if (choices == d.MemberEnd() || !choices->value.IsArray()) return false;
  for (const auto& c : choices->value.GetArray()) {
    if (!c.IsObject()) return false;
    if (auto fr = c.FindMember("finish_reason"); fr != c.MemberEnd() && !fr->value.IsNull()) return false;
    auto delta = c.FindMember("delta");
    if (delta == c.MemberEnd() || !delta->value.IsObject()) continue;
    for (const auto& m : delta->value.GetObject()) {
      std::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (key == "role") continue;
      if (m.value.IsNull()) continue;
      if (m.value.IsString() && m.value.GetStringLength() == 0) continue;
      return false;
    }
  }
  return true;
}

}  // namespace

// Characters of generated text relayed so far (content, reasoning, tool-call arguments): what an
// interrupted stream is charged when the vendor never sent its usage.
void StreamRelay::count_streamed(const rapidjson::Value& d) {
  auto choices = d.FindMember("choices");
  if (choices == d.MemberEnd() || !choices->value.IsArray()) return;
  for (const auto& c : choices->value.GetArray()) {
    if (!c.IsObject()) continue;
    auto delta = c.FindMember("delta");
    if (delta == c.MemberEnd() || !delta->value.IsObject()) continue;
    for (const char* k : {"content", "reasoning_content"})
      if (auto it = delta->value.FindMember(k); it != delta->value.MemberEnd() && it->value.IsString())
        streamed_chars_ += it->value.GetStringLength();
    if (auto tc = delta->value.FindMember("tool_calls"); tc != delta->value.MemberEnd() && tc->value.IsArray())
      for (const auto& call : tc->value.GetArray())
        if (call.IsObject() && call.HasMember("function") && call["function"].IsObject())
          streamed_chars_ += json::get_string(call["function"], "arguments").size();
  }
}

bool read_usage(std::string_view json, Usage& out) {
  rapidjson::Document d;
  json::parse(d, json.data(), json.size());
  return !d.HasParseError() && usage_from(d, out);
}

StreamRelay::Status StreamRelay::on_event(const sse::Event& ev, std::string& out) {
  if (ev.data == "[DONE]") {
    done_ = true;
    substantive_ = true;
    out += "data: [DONE]\n\n";
    return Status::kOk;
  }
  rapidjson::Document d;
  json::parse(d, ev.data.data(), ev.data.size());
  // RapidJSON takes a NUL byte for the end of the text: reject it, or what follows would be relayed.
  if (d.HasParseError() || !d.IsObject() || ev.data.find('\0') != std::string::npos) {
    error_ = "vendor sent a stream event that is not a JSON object";
    return Status::kMalformed;
  }
  if (d.HasMember("error")) {
    const auto& e = d["error"];
    error_ = "vendor reported an error mid-stream: " + (e.IsObject() ? json::get_string(e, "message") : json::stringify(e));
    return Status::kUpstreamError;
  }
  bool had_usage = usage_from(d, usage_);
  if (had_usage || !is_lifecycle_chunk(d)) substantive_ = true;
  count_streamed(d);
  if (client_wants_usage_) {
    append_event(out, ev.data);
    return Status::kOk;
  }
  if (!had_usage) {
    // The gateway turned include_usage on, so the vendor adds "usage":null to every chunk; the
    // client did not ask for it and OpenAI would not send it. Cut it without re-serialising.
    std::string_view data(ev.data);
    constexpr std::string_view kNullUsage = ",\"usage\":null";
    size_t at = data.find(kNullUsage);
    if (at == std::string_view::npos)
      append_event(out, data);
    else
      append_event(out, std::string(data.substr(0, at)).append(data.substr(at + kNullUsage.size())));
    return Status::kOk;
  }
  // The client did not ask for usage: drop the usage-only chunk, strip usage from any other.
  auto choices = d.FindMember("choices");
  if (choices == d.MemberEnd() || !choices->value.IsArray() || choices->value.Empty()) return Status::kOk;
  d.RemoveMember("usage");
  out += "data: ";
  out += json::stringify(d);
  out += "\n\n";
  return Status::kOk;
}

BodyKind inspect_completion(std::string_view body, Usage& usage) {
  rapidjson::Document d;
  json::parse(d, body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
  if (d.HasMember("error") && !d.HasMember("choices")) return BodyKind::kError;
  if (!d.HasMember("choices")) return BodyKind::kMalformed;
  usage_from(d, usage);
  return BodyKind::kCompletion;
}

}  // namespace lingmo::openai
