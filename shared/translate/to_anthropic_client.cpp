// Response stages that write the Anthropic dialect: chat hub -> Anthropic client (vendors.md 6.2
// "Response/Stream, OpenAI-compatible vendor -> Anthropic client"), and the Anthropic relay for
// Anthropic vendors, which forwards events byte for byte and only reads usage and the end.
#include <map>

#include "translate/anthropic_wire.h"
#include "translate/chat_wire.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

using jv::Value;
using jv::Writer;
using jv::json_of;

std::string stop_reason(std::string_view finish) {
  if (finish == "length") return "max_tokens";
  if (finish == "tool_calls" || finish == "function_call") return "tool_use";
  if (finish == "content_filter") return "refusal";
  return "end_turn";
}

void write_usage(Writer& w, const Usage& u) {
  w.StartObject();
  w.Key("input_tokens");
  w.Int64(u.prompt_tokens - u.cached_tokens);
  w.Key("cache_creation_input_tokens");
  w.Int64(0);
  w.Key("cache_read_input_tokens");
  w.Int64(u.cached_tokens);
  w.Key("output_tokens");
  w.Int64(u.completion_tokens);
  w.EndObject();
}

class ChatToAnthropic final : public Stage {
 public:
  explicit ChatToAnthropic(std::string model) : model_(std::move(model)), id_(mint_id("msg_")) {}

  Status on_event(const sse::Event& ev, std::string& out) override {
    if (ev.data == "[DONE]") {
      start(out);
      close_block(out);
      append_sse(out, "message_delta", json_of([&](Writer& w) {
        w.StartObject();
        w.Key("type");
        w.String("message_delta");
        w.Key("delta");
        w.StartObject();
        w.Key("stop_reason");
        jv::write(w, stop_reason(finish_));
        w.Key("stop_sequence");
        w.Null();
        w.EndObject();
        w.Key("usage");
        write_usage(w, usage_);
        w.EndObject();
      }));
      append_sse(out, "message_stop", "{\"type\":\"message_stop\"}");
      complete_ = substantive_ = true;
      return Status::kOk;
    }
    ChatChunk chunk;
    if (Status st = read_chat_chunk(ev, chunk, error_); st != Status::kOk) return st;
    start(out);
    if (chunk.has_usage) {
      usage_ = chunk.usage;
      substantive_ = true;
    }
    if (!chunk.reasoning.empty()) {
      open_block(out, kThinking, -1, {}, {});
      delta_event(out, "thinking_delta", "thinking", chunk.reasoning);
    }
    if (!chunk.content.empty()) {
      open_block(out, kText, -1, {}, {});
      delta_event(out, "text_delta", "text", chunk.content);
    }
    for (const auto& call : chunk.calls) {
      if (seen_tools_.insert(call.index).second)
        open_block(out, kTool, call.index, call.id.empty() ? mint_id("toolu_") : call.id, call.name);
      // Fragments of a call whose block already closed cannot be placed (vendors send calls one
      // after another; interleaving would need buffering every call to the end).
      if (!call.arguments.empty() && open_ == kTool && open_tool_ == call.index)
        delta_event(out, "input_json_delta", "partial_json", call.arguments);
    }
    if (!chunk.finish.empty()) {
      finish_ = chunk.finish;
      substantive_ = true;
      close_block(out);
    }
    return Status::kOk;
  }

  BodyKind on_body(std::string_view in, std::string& out) override {
    Answer a;
    BodyKind kind = parse_chat_completion(in, a, error_);
    if (kind != BodyKind::kAnswer) return kind;
    usage_ = a.usage;
    out = json_of([&](Writer& w) {
      w.StartObject();
      message_head(w);
      w.Key("content");
      w.StartArray();
      if (!a.reasoning.empty()) {
        w.StartObject();
        w.Key("type");
        w.String("thinking");
        w.Key("thinking");
        jv::write(w, a.reasoning);
        w.Key("signature");
        w.String("");
        w.EndObject();
      }
      if (!a.text.empty()) {
        w.StartObject();
        w.Key("type");
        w.String("text");
        w.Key("text");
        jv::write(w, a.text);
        w.EndObject();
      }
      for (const auto& c : a.calls) {
        w.StartObject();
        w.Key("type");
        w.String("tool_use");
        w.Key("id");
        jv::write(w, c.id.empty() ? mint_id("toolu_") : c.id);
        w.Key("name");
        jv::write(w, c.name);
        w.Key("input");
        rapidjson::Document args;
        json::parse(args, c.arguments.data(), c.arguments.size());
        if (args.HasParseError() || !args.IsObject()) args.SetObject();
        args.Accept(w);
        w.EndObject();
      }
      w.EndArray();
      w.Key("stop_reason");
      jv::write(w, stop_reason(a.finish));
      w.Key("stop_sequence");
      w.Null();
      w.Key("usage");
      write_usage(w, a.usage);
      w.EndObject();
    });
    return BodyKind::kAnswer;
  }

 private:
  enum Block { kNone, kText, kThinking, kTool };

  // The members a message starts with, in message_start and in a whole answer alike.
  void message_head(Writer& w) const {
    w.Key("id");
    jv::write(w, id_);
    w.Key("type");
    w.String("message");
    w.Key("role");
    w.String("assistant");
    w.Key("model");
    jv::write(w, model_);
  }

  void start(std::string& out) {
    if (started_) return;
    started_ = true;
    append_sse(out, "message_start", json_of([&](Writer& w) {
      w.StartObject();
      w.Key("type");
      w.String("message_start");
      w.Key("message");
      w.StartObject();
      message_head(w);
      w.Key("content");
      w.StartArray();
      w.EndArray();
      w.Key("stop_reason");
      w.Null();
      w.Key("stop_sequence");
      w.Null();
      w.Key("usage");
      write_usage(w, Usage{});
      w.EndObject();
      w.EndObject();
    }));
  }

  void open_block(std::string& out, Block kind, int tool, std::string_view id, std::string_view name) {
    if (open_ == kind && kind != kTool) return;
    close_block(out);
    open_ = kind;
    open_tool_ = tool;
    substantive_ = true;
    append_sse(out, "content_block_start", json_of([&](Writer& w) {
      w.StartObject();
      w.Key("type");
      w.String("content_block_start");
      w.Key("index");
      w.Int(index_);
      w.Key("content_block");
      w.StartObject();
      w.Key("type");
      if (kind == kText) {
        w.String("text");
        w.Key("text");
        w.String("");
      } else if (kind == kThinking) {
        w.String("thinking");
        w.Key("thinking");
        w.String("");
        w.Key("signature");
        w.String("");
      } else {
        w.String("tool_use");
        w.Key("id");
        jv::write(w, id);
        w.Key("name");
        jv::write(w, name);
        w.Key("input");
        w.StartObject();
        w.EndObject();
      }
      w.EndObject();
      w.EndObject();
    }));
  }

  void close_block(std::string& out) {
    if (open_ == kNone) return;
    append_sse(out, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" + std::to_string(index_) + "}");
    open_ = kNone;
    open_tool_ = -1;
    ++index_;
  }

  void delta_event(std::string& out, const char* type, const char* field, std::string_view text) {
    chars_ += static_cast<int64_t>(text.size());
    append_sse(out, "content_block_delta", json_of([&](Writer& w) {
      w.StartObject();
      w.Key("type");
      w.String("content_block_delta");
      w.Key("index");
      w.Int(index_);
      w.Key("delta");
      w.StartObject();
      w.Key("type");
      w.String(type);
      w.Key(field);
      jv::write(w, text);
      w.EndObject();
      w.EndObject();
    }));
  }

  std::string model_, id_;
  std::string finish_ = "stop";
  Block open_ = kNone;
  int open_tool_ = -1;
  int index_ = 0;  // index of the open block, or of the next one
  std::set<int> seen_tools_;
  bool started_ = false;
};

// ---------------------------------------------------------------------------------------------
// Anthropic vendor -> Anthropic client: events pass unchanged.

class AnthropicRelay final : public Stage {
 public:
  Status on_event(const sse::Event& ev, std::string& out) override {
    rapidjson::Document d;
    if (Status st = parse_event(ev, d); st != Status::kOk) return st;
    std::string_view type = jv::sv(d, "type");
    if (type.empty()) type = ev.event;
    if (type == "error") {
      const Value* e = jv::get(d, "error");
      return upstream_error(e ? std::string(jv::sv(*e, "type")) + ": " + std::string(jv::sv(*e, "message")) : std::string("unknown"));
    }
    auto read = [&](const Value& u) { anthropic_usage_.read(u, usage_); };
    if (type == "message_start") {
      if (const Value* m = jv::get(d, "message"))
        if (const Value* u = jv::get(*m, "usage")) read(*u);
    } else if (type == "message_delta") {
      substantive_ = true;
      if (const Value* u = jv::get(d, "usage")) read(*u);
    } else if (type == "message_stop") {
      substantive_ = complete_ = true;
    } else if (type == "content_block_delta") {
      substantive_ = true;
      if (const Value* delta = jv::get(d, "delta"))
        for (const char* k : {"text", "thinking", "partial_json"}) chars_ += static_cast<int64_t>(jv::sv(*delta, k).size());
    } else if (type == "content_block_start") {
      if (const Value* b = jv::get(d, "content_block"); b && jv::sv(*b, "type") != "text" && jv::sv(*b, "type") != "thinking")
        substantive_ = true;  // a tool call starting is content; an empty text block is set-up
    }
    append_sse(out, ev.event.empty() ? type : std::string_view(ev.event), ev.data);
    return Status::kOk;
  }

  BodyKind on_body(std::string_view in, std::string& out) override {
    rapidjson::Document d;
    json::parse(d, in.data(), in.size());
    if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
    if (jv::sv(d, "type") == "error" || jv::get(d, "error")) return BodyKind::kError;
    if (!jv::get(d, "content")) {
      error_ = "the response body is not an Anthropic message";
      return BodyKind::kMalformed;
    }
    if (const Value* u = jv::get(d, "usage")) {
      sse::Event ev;
      ev.data = "{\"type\":\"message_delta\",\"usage\":" + jv::stringify(*u) + "}";
      std::string ignored;
      on_event(ev, ignored);
    }
    out.assign(in);
    return BodyKind::kAnswer;
  }

 private:
  AnthropicUsage anthropic_usage_;
};

// ---------------------------------------------------------------------------------------------
// Whole-body passthroughs: embeddings (usage.prompt_tokens) and count_tokens (input_tokens).

class BodyRelay final : public Stage {
 public:
  explicit BodyRelay(ClientApi api) : api_(api) {}
  Status on_event(const sse::Event&, std::string&) override {
    error_ = "this endpoint does not stream";
    return Status::kMalformed;
  }
  BodyKind on_body(std::string_view in, std::string& out) override {
    rapidjson::Document d;
    json::parse(d, in.data(), in.size());
    if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
    if (jv::get(d, "error") && !jv::get(d, "data")) return BodyKind::kError;
    if (api_ == ClientApi::kCountTokens) {
      const Value* n = jv::get(d, "input_tokens");
      if (!n || !n->IsInt64()) {
        error_ = "the count_tokens answer has no input_tokens";
        return BodyKind::kMalformed;
      }
    } else {
      const Value* data = jv::get(d, "data");
      if (!data || !data->IsArray()) {
        error_ = "the embeddings answer has no data array";
        return BodyKind::kMalformed;
      }
      if (const Value* u = jv::get(d, "usage")) {
        usage_.present = true;
        usage_.prompt_tokens = jv::int_or(*u, "prompt_tokens", 0);
        usage_.total_tokens = usage_.prompt_tokens;
      }
    }
    out.assign(in);
    return BodyKind::kAnswer;
  }

 private:
  ClientApi api_;
};

}  // namespace

std::unique_ptr<Stage> make_chat_to_anthropic(const std::string& model) { return std::make_unique<ChatToAnthropic>(model); }
std::unique_ptr<Stage> make_anthropic_relay() { return std::make_unique<AnthropicRelay>(); }
std::unique_ptr<Stage> make_body_relay(ClientApi api) { return std::make_unique<BodyRelay>(api); }

}  // namespace lingmo::translate
