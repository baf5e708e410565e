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
  return true;
}

}  // namespace

bool read_usage(std::string_view json, Usage& out) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  return !d.HasParseError() && usage_from(d, out);
}

StreamRelay::Status StreamRelay::on_event(const sse::Event& ev, std::string& out) {
  if (ev.data == "[DONE]") {
    done_ = true;
    out += "data: [DONE]\n\n";
    return Status::kOk;
  }
  rapidjson::Document d;
  d.Parse(ev.data.data(), ev.data.size());
  if (d.HasParseError() || !d.IsObject()) {
    error_ = "vendor sent a stream event that is not a JSON object";
    return Status::kMalformed;
  }
  if (d.HasMember("error")) {
    const auto& e = d["error"];
    error_ = "vendor reported an error mid-stream: " + (e.IsObject() ? json::get_string(e, "message") : json::stringify(e));
    return Status::kUpstreamError;
  }
  bool had_usage = usage_from(d, usage_);
  if (client_wants_usage_) {
    out += "data: ";
    out += ev.data;
    out += "\n\n";
    return Status::kOk;
  }
  if (!had_usage) {
    // The gateway turned include_usage on, so the vendor adds "usage":null to every chunk; the
    // client did not ask for it and OpenAI would not send it. Cut it without re-serialising.
    std::string_view data(ev.data);
    constexpr std::string_view kNullUsage = ",\"usage\":null";
    size_t at = data.find(kNullUsage);
    out += "data: ";
    if (at == std::string_view::npos) {
      out += data;
    } else {
      out += data.substr(0, at);
      out += data.substr(at + kNullUsage.size());
    }
    out += "\n\n";
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
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
  if (d.HasMember("error") && !d.HasMember("choices")) return BodyKind::kError;
  if (!d.HasMember("choices")) return BodyKind::kMalformed;
  usage_from(d, usage);
  return BodyKind::kCompletion;
}

}  // namespace lingmo::openai
