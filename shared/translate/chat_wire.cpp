#include "translate/chat_wire.h"

#include "translate/jsonv.h"
#include "util/json.h"

namespace lingmo::translate {

using jv::Value;
using jv::Writer;

void append_sse(std::string& out, std::string_view name, std::string_view data) {
  if (!name.empty()) {
    out += "event: ";
    out += name;
    out += '\n';
  }
  // Data may span lines (the framer joins "data:" lines with \n): each line gets its own prefix.
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

Status Stage::parse_event(const sse::Event& ev, rapidjson::Document& d) {
  json::parse(d, ev.data.data(), ev.data.size());
  if (d.HasParseError() || !d.IsObject() || ev.data.find('\0') != std::string::npos) {
    error_ = "vendor sent a stream event that is not a JSON object";
    return Status::kMalformed;
  }
  return Status::kOk;
}

Status read_chat_chunk(const sse::Event& ev, ChatChunk& out, std::string& error) {
  rapidjson::Document d;
  json::parse(d, ev.data.data(), ev.data.size());
  if (d.HasParseError() || !d.IsObject() || ev.data.find('\0') != std::string::npos) {
    error = "vendor sent a stream event that is not a JSON object";
    return Status::kMalformed;
  }
  if (const Value* e = jv::get(d, "error")) {
    error = "vendor reported an error mid-stream: " + (e->IsObject() ? std::string(jv::sv(*e, "message")) : jv::stringify(*e));
    return Status::kUpstreamError;
  }
  if (const Value* u = jv::get(d, "usage"); u && u->IsObject()) out.has_usage = openai::read_usage(ev.data, out.usage);
  const Value* choices = jv::get(d, "choices");
  if (!choices || !choices->IsArray() || choices->Empty()) return Status::kOk;
  const Value& c = (*choices)[0];
  out.finish = std::string(jv::sv(c, "finish_reason"));
  const Value* delta = jv::get(c, "delta");
  if (!delta) return Status::kOk;
  out.reasoning = std::string(jv::sv(*delta, "reasoning_content"));
  if (out.reasoning.empty()) out.reasoning = std::string(jv::sv(*delta, "reasoning"));
  out.content = std::string(jv::sv(*delta, "content"));
  if (const Value* calls = jv::get(*delta, "tool_calls"); calls && calls->IsArray())
    for (const auto& tc : calls->GetArray()) {
      const Value* fn = jv::get(tc, "function");
      out.calls.push_back({static_cast<int>(jv::int_or(tc, "index", 0)), std::string(jv::sv(tc, "id")),
                           fn ? std::string(jv::sv(*fn, "name")) : std::string(),
                           fn ? std::string(jv::sv(*fn, "arguments")) : std::string()});
    }
  return Status::kOk;
}

void write_chat_usage(Writer& w, const Usage& u) {
  w.StartObject();
  w.Key("prompt_tokens");
  w.Int64(u.prompt_tokens);
  w.Key("completion_tokens");
  w.Int64(u.completion_tokens);
  w.Key("total_tokens");
  w.Int64(u.total_tokens ? u.total_tokens : u.prompt_tokens + u.completion_tokens);
  if (u.cached_tokens > 0) {
    w.Key("prompt_tokens_details");
    w.StartObject();
    w.Key("cached_tokens");
    w.Int64(u.cached_tokens);
    w.EndObject();
  }
  if (u.reasoning_tokens > 0) {
    w.Key("completion_tokens_details");
    w.StartObject();
    w.Key("reasoning_tokens");
    w.Int64(u.reasoning_tokens);
    w.EndObject();
  }
  w.EndObject();
}

void ChatWriter::head(Writer& w) const {
  w.Key("id");
  jv::write(w, id_);
  w.Key("object");
  w.String("chat.completion.chunk");
  w.Key("created");
  w.Int64(o_.created);
  w.Key("model");
  jv::write(w, o_.model);
}

template <class F>
void ChatWriter::chunk(std::string& out, F&& delta, std::string_view finish) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  head(w);
  w.Key("choices");
  w.StartArray();
  w.StartObject();
  w.Key("index");
  w.Int(0);
  w.Key("delta");
  w.StartObject();
  delta(w);
  w.EndObject();
  w.Key("finish_reason");
  if (finish.empty()) w.Null();
  else jv::write(w, finish);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  append_sse(out, {}, std::string_view(sb.GetString(), sb.GetSize()));
}

void ChatWriter::role(std::string& out) {
  chunk(out, [](Writer& w) {
    w.Key("role");
    w.String("assistant");
    w.Key("content");
    w.String("");
  });
}

void ChatWriter::content(std::string& out, std::string_view text) {
  chunk(out, [&](Writer& w) {
    w.Key("content");
    jv::write(w, text);
  });
}

void ChatWriter::reasoning(std::string& out, std::string_view text) {
  chunk(out, [&](Writer& w) {
    w.Key("reasoning_content");
    jv::write(w, text);
  });
}

void ChatWriter::tool_start(std::string& out, int index, std::string_view id, std::string_view name, std::string_view args) {
  chunk(out, [&](Writer& w) {
    w.Key("tool_calls");
    w.StartArray();
    w.StartObject();
    w.Key("index");
    w.Int(index);
    w.Key("id");
    jv::write(w, id);
    w.Key("type");
    w.String("function");
    w.Key("function");
    w.StartObject();
    w.Key("name");
    jv::write(w, name);
    w.Key("arguments");
    jv::write(w, args);
    w.EndObject();
    w.EndObject();
    w.EndArray();
  });
}

void ChatWriter::tool_args(std::string& out, int index, std::string_view args) {
  chunk(out, [&](Writer& w) {
    w.Key("tool_calls");
    w.StartArray();
    w.StartObject();
    w.Key("index");
    w.Int(index);
    w.Key("function");
    w.StartObject();
    w.Key("arguments");
    jv::write(w, args);
    w.EndObject();
    w.EndObject();
    w.EndArray();
  });
}

void ChatWriter::finish(std::string& out, std::string_view reason) {
  chunk(out, [](Writer&) {}, reason);
}

void ChatWriter::usage(std::string& out, const Usage& u) {
  if (!o_.wants_usage) return;
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  head(w);
  w.Key("choices");
  w.StartArray();
  w.EndArray();
  w.Key("usage");
  write_chat_usage(w, u);
  w.EndObject();
  append_sse(out, {}, std::string_view(sb.GetString(), sb.GetSize()));
}

std::string chat_completion_json(const Answer& a, int64_t created) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("id");
  jv::write(w, a.id);
  w.Key("object");
  w.String("chat.completion");
  w.Key("created");
  w.Int64(created);
  w.Key("model");
  jv::write(w, a.model);
  w.Key("choices");
  w.StartArray();
  w.StartObject();
  w.Key("index");
  w.Int(0);
  w.Key("message");
  w.StartObject();
  w.Key("role");
  w.String("assistant");
  w.Key("content");
  if (a.text.empty()) w.Null();
  else jv::write(w, a.text);
  if (!a.reasoning.empty()) {
    w.Key("reasoning_content");
    jv::write(w, a.reasoning);
  }
  if (!a.calls.empty()) {
    w.Key("tool_calls");
    w.StartArray();
    for (const auto& c : a.calls) {
      w.StartObject();
      w.Key("id");
      jv::write(w, c.id);
      w.Key("type");
      w.String("function");
      w.Key("function");
      w.StartObject();
      w.Key("name");
      jv::write(w, c.name);
      w.Key("arguments");
      jv::write(w, c.arguments);
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("refusal");
  w.Null();
  w.EndObject();
  w.Key("logprobs");
  w.Null();
  w.Key("finish_reason");
  jv::write(w, a.finish);
  w.EndObject();
  w.EndArray();
  w.Key("usage");
  write_chat_usage(w, a.usage);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

BodyKind parse_chat_completion(std::string_view body, Answer& out, std::string& error) {
  rapidjson::Document d;
  json::parse(d, body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
  const Value* choices = jv::get(d, "choices");
  if (!choices) {
    if (const Value* e = jv::get(d, "error")) {
      error = e->IsObject() ? std::string(jv::sv(*e, "message")) : jv::stringify(*e);
      return BodyKind::kError;
    }
    return BodyKind::kMalformed;
  }
  if (!choices->IsArray() || choices->Empty() || !(*choices)[0].IsObject()) return BodyKind::kMalformed;
  const Value& c = (*choices)[0];
  out.id = std::string(jv::sv(d, "id"));
  out.model = std::string(jv::sv(d, "model"));
  out.finish = std::string(jv::sv(c, "finish_reason"));
  if (out.finish.empty()) out.finish = "stop";
  if (const Value* m = jv::get(c, "message")) {
    if (const Value* t = jv::get(*m, "content")) out.text = jv::text_of(*t, "");
    out.reasoning = std::string(jv::sv(*m, "reasoning_content"));
    if (out.reasoning.empty()) out.reasoning = std::string(jv::sv(*m, "reasoning"));  // OpenRouter
    if (const Value* calls = jv::get(*m, "tool_calls"); calls && calls->IsArray())
      for (const auto& tc : calls->GetArray()) {
        const Value* fn = jv::get(tc, "function");
        if (!fn) continue;
        out.calls.push_back({std::string(jv::sv(tc, "id")), std::string(jv::sv(*fn, "name")),
                             std::string(jv::sv(*fn, "arguments"))});
      }
  }
  openai::read_usage(body, out.usage);
  return BodyKind::kAnswer;
}

}  // namespace lingmo::translate
