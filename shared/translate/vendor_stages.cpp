// Response stages that read a vendor's dialect and write the chat hub: OpenAI (relay, the
// gateway's fast path), Anthropic and Gemini. Reference: vendors.md 6.2 "Response, Anthropic
// vendor -> OpenAI client", "Stream, Anthropic vendor -> OpenAI client", "Response, Gemini vendor
// -> OpenAI client".
#include <map>

#include "openai/stream.h"
#include "translate/anthropic_wire.h"
#include "translate/chat_wire.h"
#include "translate/hub.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

using jv::Value;

std::string error_text(const Value& e) {
  if (e.IsObject()) {
    std::string type(jv::sv(e, "type"));
    if (type.empty()) type = std::string(jv::sv(e, "status"));
    return (type.empty() ? "" : type + ": ") + std::string(jv::sv(e, "message"));
  }
  return jv::stringify(e);
}

// ---------------------------------------------------------------------------------------------
// OpenAI vendor -> chat client: openai::StreamRelay, unchanged bytes where possible.

class ChatRelay final : public Stage {
 public:
  explicit ChatRelay(bool wants_usage) : relay_(wants_usage) {}
  Status on_event(const sse::Event& ev, std::string& out) override {
    switch (relay_.on_event(ev, out)) {
      case openai::StreamRelay::Status::kOk: return Status::kOk;
      case openai::StreamRelay::Status::kMalformed: error_ = relay_.error_message(); return Status::kMalformed;
      case openai::StreamRelay::Status::kUpstreamError: error_ = relay_.error_message(); return Status::kUpstreamError;
    }
    return Status::kMalformed;
  }
  bool complete() const override { return relay_.done(); }
  bool substantive() const override { return relay_.substantive(); }
  const Usage& usage() const override { return usage_.present ? usage_ : relay_.usage(); }
  int64_t streamed_chars() const override { return relay_.streamed_chars(); }
  BodyKind on_body(std::string_view in, std::string& out) override {
    switch (openai::inspect_completion(in, usage_)) {  // usage_: a whole body's (the relay sees streams)
      case openai::BodyKind::kCompletion: out.assign(in); return BodyKind::kAnswer;
      case openai::BodyKind::kError: return BodyKind::kError;
      case openai::BodyKind::kMalformed: error_ = "the response body is not a valid chat completion"; return BodyKind::kMalformed;
    }
    return BodyKind::kMalformed;
  }

 private:
  openai::StreamRelay relay_;
};

// ---------------------------------------------------------------------------------------------
// Anthropic vendor -> chat.

std::string anthropic_finish(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

class AnthropicToChat final : public Stage {
 public:
  explicit AnthropicToChat(const ChatOut& o) : o_(o), w_(o, mint_id("chatcmpl-")) {}

  Status on_event(const sse::Event& ev, std::string& out) override {
    rapidjson::Document d;
    if (Status st = parse_event(ev, d); st != Status::kOk) return st;
    std::string_view type = jv::sv(d, "type");
    if (type.empty()) type = ev.event;
    if (type == "error" || jv::get(d, "error")) {
      const Value* e = jv::get(d, "error");
      return upstream_error(e ? error_text(*e) : std::string("unknown"));
    }
    if (type == "message_start") {
      if (const Value* m = jv::get(d, "message"))
        if (const Value* u = jv::get(*m, "usage")) anthropic_usage_.read(*u, usage_);
      w_.role(out);
    } else if (type == "content_block_start") {
      const Value* b = jv::get(d, "content_block");
      int index = static_cast<int>(jv::int_or(d, "index", -1));
      if (b && jv::sv(*b, "type") == "tool_use") {
        int k = next_tool_++;
        tools_[index] = k;
        substantive_ = true;
        w_.tool_start(out, k, jv::sv(*b, "id"), jv::sv(*b, "name"), "");
      } else if (b && jv::sv(*b, "type") == "text" && !jv::sv(*b, "text").empty()) {
        substantive_ = true;
        chars_ += jv::sv(*b, "text").size();
        w_.content(out, jv::sv(*b, "text"));
      }
    } else if (type == "content_block_delta") {
      const Value* delta = jv::get(d, "delta");
      if (!delta) return Status::kOk;
      std::string_view dt = jv::sv(*delta, "type");
      if (dt == "text_delta" && !jv::sv(*delta, "text").empty()) {
        substantive_ = true;
        chars_ += jv::sv(*delta, "text").size();
        w_.content(out, jv::sv(*delta, "text"));
      } else if (dt == "thinking_delta" && !jv::sv(*delta, "thinking").empty()) {
        substantive_ = true;
        chars_ += jv::sv(*delta, "thinking").size();
        w_.reasoning(out, jv::sv(*delta, "thinking"));
      } else if (dt == "input_json_delta" && !jv::sv(*delta, "partial_json").empty()) {
        int index = static_cast<int>(jv::int_or(d, "index", -1));
        auto it = tools_.find(index);
        if (it == tools_.end()) return Status::kOk;
        chars_ += jv::sv(*delta, "partial_json").size();
        w_.tool_args(out, it->second, jv::sv(*delta, "partial_json"));
      }
    } else if (type == "message_delta") {
      substantive_ = true;
      if (const Value* delta = jv::get(d, "delta")) finish_ = anthropic_finish(jv::sv(*delta, "stop_reason"));
      if (const Value* u = jv::get(d, "usage")) anthropic_usage_.read(*u, usage_);
      w_.finish(out, finish_);
    } else if (type == "message_stop") {
      substantive_ = true;
      complete_ = true;
      w_.usage(out, usage_);
      w_.done(out);
    }
    return Status::kOk;  // ping, content_block_stop, signature_delta, unknown future events
  }

  BodyKind on_body(std::string_view in, std::string& out) override {
    rapidjson::Document d;
    json::parse(d, in.data(), in.size());
    if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
    if (jv::sv(d, "type") == "error" || jv::get(d, "error")) return BodyKind::kError;
    const Value* content = jv::get(d, "content");
    if (!content || !content->IsArray()) {
      error_ = "the response body is not an Anthropic message";
      return BodyKind::kMalformed;
    }
    Answer a;
    a.id = mint_id("chatcmpl-");
    a.model = o_.model;
    for (const auto& b : content->GetArray()) {
      std::string_view type = jv::sv(b, "type");
      if (type == "text") a.text += jv::sv(b, "text");
      else if (type == "thinking") a.reasoning += jv::sv(b, "thinking");
      else if (type == "tool_use") {
        const Value* input = jv::get(b, "input");
        a.calls.push_back({std::string(jv::sv(b, "id")), std::string(jv::sv(b, "name")),
                           input ? jv::stringify(*input) : std::string("{}")});
      }
    }
    a.finish = anthropic_finish(jv::sv(d, "stop_reason"));
    if (const Value* u = jv::get(d, "usage")) anthropic_usage_.read(*u, usage_);
    a.usage = usage_;
    out = chat_completion_json(a, o_.created);
    return BodyKind::kAnswer;
  }

 private:
  ChatOut o_;
  ChatWriter w_;
  std::map<int, int> tools_;  // Anthropic block index -> chat tool-call index (counts tool_use blocks only)
  int next_tool_ = 0;
  std::string finish_ = "stop";
  AnthropicUsage anthropic_usage_;
};

// ---------------------------------------------------------------------------------------------
// Gemini vendor -> chat.

std::string gemini_finish(std::string_view r) {
  if (r == "MAX_TOKENS") return "length";
  if (r == "SAFETY" || r == "RECITATION" || r == "BLOCKLIST" || r == "PROHIBITED_CONTENT" || r == "SPII" ||
      r == "IMAGE_SAFETY")
    return "content_filter";
  return "stop";
}

int64_t int_of(const Value& o, const char* k) {
  const Value* v = jv::get(o, k);
  return v && v->IsInt64() ? v->GetInt64() : 0;
}

void gemini_usage(const Value& u, Usage& out) {
  if (!u.IsObject()) return;
  out.present = true;
  out.prompt_tokens = int_of(u, "promptTokenCount");
  int64_t thoughts = int_of(u, "thoughtsTokenCount");
  out.completion_tokens = int_of(u, "candidatesTokenCount") + thoughts;
  out.reasoning_tokens = thoughts;
  out.cached_tokens = int_of(u, "cachedContentTokenCount");
  out.total_tokens = int_of(u, "totalTokenCount");
  if (!out.total_tokens) out.total_tokens = out.prompt_tokens + out.completion_tokens;
}

class GeminiToChat final : public Stage {
 public:
  explicit GeminiToChat(const ChatOut& o) : o_(o), w_(o, mint_id("chatcmpl-")) {}

  Status on_event(const sse::Event& ev, std::string& out) override {
    rapidjson::Document d;
    if (Status st = parse_event(ev, d); st != Status::kOk) return st;
    if (const Value* e = jv::get(d, "error")) return upstream_error(error_text(*e));
    if (!started_) {
      started_ = true;
      w_.role(out);
    }
    if (const Value* u = jv::get(d, "usageMetadata")) gemini_usage(*u, usage_);
    const Value* cands = jv::get(d, "candidates");
    if (!cands || !cands->IsArray() || cands->Empty()) {
      if (const Value* fb = jv::get(d, "promptFeedback"); fb && jv::get(*fb, "blockReason")) {
        finish_ = "content_filter";
        finished_ = substantive_ = true;
        w_.finish(out, finish_);
      }
      return Status::kOk;
    }
    const Value& c = (*cands)[0];
    if (const Value* content = jv::get(c, "content"))
      if (const Value* parts = jv::get(*content, "parts"); parts && parts->IsArray())
        for (const auto& p : parts->GetArray()) {
          if (const Value* fc = jv::get(p, "functionCall")) {
            substantive_ = called_ = true;
            std::string id = gemini_call_id(jv::sv(p, "thoughtSignature"), jv::sv(*fc, "id"));
            const Value* args = jv::get(*fc, "args");
            std::string a = args ? jv::stringify(*args) : std::string("{}");
            chars_ += a.size();
            w_.tool_start(out, next_tool_++, id, jv::sv(*fc, "name"), a);
          } else if (std::string_view t = jv::sv(p, "text"); !t.empty()) {
            substantive_ = true;
            chars_ += t.size();
            const Value* thought = jv::get(p, "thought");
            if (thought && thought->IsBool() && thought->GetBool()) w_.reasoning(out, t);
            else w_.content(out, t);
          }
        }
    if (std::string_view r = jv::sv(c, "finishReason"); !r.empty() && !finished_) {
      finish_ = called_ ? "tool_calls" : gemini_finish(r);
      finished_ = substantive_ = true;
      w_.finish(out, finish_);
    }
    return Status::kOk;
  }

  // Gemini has no end event: a stream that closes after a finishReason is complete.
  Status on_end(std::string& out) override {
    if (!finished_) return Status::kOk;
    complete_ = true;
    w_.usage(out, usage_);
    w_.done(out);
    return Status::kOk;
  }

  BodyKind on_body(std::string_view in, std::string& out) override {
    rapidjson::Document d;
    json::parse(d, in.data(), in.size());
    if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
    if (jv::get(d, "error")) return BodyKind::kError;
    Answer a;
    a.id = mint_id("chatcmpl-");
    a.model = o_.model;
    if (const Value* u = jv::get(d, "usageMetadata")) gemini_usage(*u, usage_);
    const Value* cands = jv::get(d, "candidates");
    if (!cands || !cands->IsArray() || cands->Empty()) {
      const Value* fb = jv::get(d, "promptFeedback");
      if (!fb) {
        error_ = "the response body has no candidates";
        return BodyKind::kMalformed;
      }
      a.finish = "content_filter";
    } else {
      const Value& c = (*cands)[0];
      if (const Value* content = jv::get(c, "content"))
        if (const Value* parts = jv::get(*content, "parts"); parts && parts->IsArray())
          for (const auto& p : parts->GetArray()) {
            if (const Value* fc = jv::get(p, "functionCall")) {
              std::string id = gemini_call_id(jv::sv(p, "thoughtSignature"), jv::sv(*fc, "id"));
              const Value* args = jv::get(*fc, "args");
              a.calls.push_back({id, std::string(jv::sv(*fc, "name")), args ? jv::stringify(*args) : std::string("{}")});
            } else if (std::string_view t = jv::sv(p, "text"); !t.empty()) {
              const Value* thought = jv::get(p, "thought");
              (thought && thought->IsBool() && thought->GetBool() ? a.reasoning : a.text) += t;
            }
          }
      a.finish = a.calls.empty() ? gemini_finish(jv::sv(c, "finishReason")) : "tool_calls";
    }
    a.usage = usage_;
    out = chat_completion_json(a, o_.created);
    return BodyKind::kAnswer;
  }

 private:
  ChatOut o_;
  ChatWriter w_;
  int next_tool_ = 0;
  std::string finish_ = "stop";
  bool started_ = false, finished_ = false, called_ = false;
};

}  // namespace

std::unique_ptr<Stage> make_chat_relay(bool wants_usage) { return std::make_unique<ChatRelay>(wants_usage); }
std::unique_ptr<Stage> make_anthropic_to_chat(const ChatOut& o) { return std::make_unique<AnthropicToChat>(o); }
std::unique_ptr<Stage> make_gemini_to_chat(const ChatOut& o) { return std::make_unique<GeminiToChat>(o); }

}  // namespace lingmo::translate
