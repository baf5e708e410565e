// Vendor bodies for OpenAI-compatible vendors: the hub (chat) request with the vendor's model and
// quirks, plus the two plain passthroughs (embeddings) that only OpenAI-dialect vendors serve.
#include "openai/request.h"
#include "translate/hub.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

constexpr const char* kChatPath = "/chat/completions";

// Earlier reasoning in the hub form: replayed as reasoning_content where the vendor wants it.
void settle_reasoning(rapidjson::Document& d, bool replay) {
  auto msgs = d.FindMember("messages");
  if (msgs == d.MemberEnd() || !msgs->value.IsArray()) return;
  for (auto& m : msgs->value.GetArray()) {
    if (!m.IsObject()) continue;
    auto it = m.FindMember(kReasoningKey);
    if (it == m.MemberEnd()) continue;
    if (replay && !m.HasMember("reasoning_content")) {
      rapidjson::Value v(it->value, d.GetAllocator());
      m.RemoveMember(it);
      m.AddMember("reasoning_content", v, d.GetAllocator());
    } else {
      m.RemoveMember(it);
    }
  }
}

void clamp_output(rapidjson::Document& d, int64_t ceiling) {
  if (ceiling <= 0) return;
  for (const char* k : {"max_tokens", "max_completion_tokens"}) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsNumber() && (!it->value.IsInt64() || it->value.GetInt64() > ceiling))
      it->value.SetInt64(ceiling);
  }
}

}  // namespace

VendorRequest chat_to_openai(const ClientRequest& req, const Target& t) {
  rapidjson::Document d;
  d.CopyFrom(req.as_chat(), d.GetAllocator());
  settle_reasoning(d, t.provider->replay_reasoning);
  clamp_output(d, t.provider->max_output_tokens);
  openai::prepare_upstream(d, req.stream, t.upstream_model, t.provider->drop_params, t.provider->rename_params);
  return VendorRequest{kChatPath, jv::stringify(d), {}};
}

VendorRequest responses_passthrough(const ClientRequest& req, const Target& t) {
  rapidjson::Document d;
  d.CopyFrom(req.doc, d.GetAllocator());
  // stream=false: the Responses API has no stream_options; usage comes with response.completed.
  openai::prepare_upstream(d, false, t.upstream_model, t.provider->drop_params, t.provider->rename_params);
  return VendorRequest{"/responses", jv::stringify(d), {}};
}

VendorRequest embeddings_passthrough(const ClientRequest& req, const Target& t) {
  rapidjson::Document d;
  d.CopyFrom(req.doc, d.GetAllocator());
  openai::prepare_upstream(d, false, t.upstream_model, t.provider->drop_params, t.provider->rename_params);
  return VendorRequest{"/embeddings", jv::stringify(d), {}};
}

}  // namespace lingmo::translate
