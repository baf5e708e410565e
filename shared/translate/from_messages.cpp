// Anthropic Messages request -> hub (chat) request, for vendors that are not Anthropic
// (reference: vendors.md 6.2 "Request, Anthropic client -> OpenAI-compatible vendor").
// What a chat vendor cannot take is dropped here: cache_control, thinking settings, betas,
// metadata, server tools (web search, code execution), output_config, context_management.
#include "translate/hub.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

using jv::Alloc;
using jv::Value;

// An Anthropic image block as an OpenAI image_url part (base64 -> data URI).
bool image_part(const Value& block, Value& part, Alloc& a) {
  const Value* src = jv::get(block, "source");
  if (!src) return false;
  std::string url;
  std::string_view type = jv::sv(*src, "type");
  if (type == "base64") {
    url = "data:" + std::string(jv::sv(*src, "media_type")) + ";base64," + std::string(jv::sv(*src, "data"));
  } else if (type == "url") {
    url = std::string(jv::sv(*src, "url"));
  }
  if (url.empty()) return false;
  part.SetObject();
  jv::add(part, "type", "image_url", a);
  Value iu(rapidjson::kObjectType);
  jv::add(iu, "url", url, a);
  jv::add(part, "image_url", std::move(iu), a);
  return true;
}

Value text_part(std::string_view text, Alloc& a) {
  Value p(rapidjson::kObjectType);
  jv::add(p, "type", "text", a);
  jv::add(p, "text", text, a);
  return p;
}

// A user turn's parts as chat content: a plain string when it is only text (what every vendor
// takes), else an array of parts.
Value user_content(Value& parts, Alloc& a) {
  bool only_text = true;
  std::string joined;
  for (const auto& p : parts.GetArray()) {
    if (jv::sv(p, "type") != "text") only_text = false;
    if (!joined.empty()) joined += "\n\n";
    joined += jv::sv(p, "text");
  }
  if (only_text) return jv::str(joined, a);
  return std::move(parts);
}

void add_message(Value& messages, const char* role, Value content, Alloc& a) {
  Value m(rapidjson::kObjectType);
  jv::add(m, "role", role, a);
  jv::add(m, "content", std::move(content), a);
  messages.PushBack(m, a);
}

void convert_user(const Value& content, Value& messages, Alloc& a) {
  if (content.IsString()) {
    add_message(messages, "user", Value(content, a), a);
    return;
  }
  Value parts(rapidjson::kArrayType);
  Value tool_images(rapidjson::kArrayType);
  for (const auto& b : content.GetArray()) {
    std::string_view type = jv::sv(b, "type");
    if (type == "tool_result") {
      // One tool message per result, before the user's own text (the order chat vendors require).
      std::string text;
      if (const Value* c = jv::get(b, "content")) {
        text = jv::text_of(*c, "\n");
        if (c->IsArray())
          for (const auto& inner : c->GetArray()) {
            Value img;
            if (jv::sv(inner, "type") == "image" && image_part(inner, img, a)) tool_images.PushBack(img, a);
          }
      }
      Value m(rapidjson::kObjectType);
      jv::add(m, "role", "tool", a);
      jv::add(m, "tool_call_id", jv::sv(b, "tool_use_id"), a);
      jv::add(m, "content", text, a);
      messages.PushBack(m, a);
    } else if (type == "text") {
      if (!jv::sv(b, "text").empty()) parts.PushBack(text_part(jv::sv(b, "text"), a), a);
    } else if (type == "image") {
      Value img;
      if (image_part(b, img, a)) parts.PushBack(img, a);
    } else if (type == "document") {
      // Plain-text documents keep their text; PDFs and files have no chat equivalent.
      const Value* src = jv::get(b, "source");
      if (src && jv::sv(*src, "type") == "text") parts.PushBack(text_part(jv::sv(*src, "data"), a), a);
    }
  }
  // Images a tool returned cannot sit in a tool message for most vendors: they ride in the user turn.
  for (auto& img : tool_images.GetArray()) parts.PushBack(img, a);
  if (!parts.Empty()) add_message(messages, "user", user_content(parts, a), a);
}

void convert_assistant(const Value& content, Value& messages, Alloc& a) {
  if (content.IsString()) {
    add_message(messages, "assistant", Value(content, a), a);
    return;
  }
  std::string text, reasoning;
  Value calls(rapidjson::kArrayType);
  for (const auto& b : content.GetArray()) {
    std::string_view type = jv::sv(b, "type");
    if (type == "text") {
      text += jv::sv(b, "text");
    } else if (type == "thinking") {
      reasoning += jv::sv(b, "thinking");
    } else if (type == "tool_use") {
      Value call(rapidjson::kObjectType);
      jv::add(call, "id", jv::sv(b, "id"), a);
      jv::add(call, "type", "function", a);
      Value fn(rapidjson::kObjectType);
      jv::add(fn, "name", jv::sv(b, "name"), a);
      const Value* input = jv::get(b, "input");
      jv::add(fn, "arguments", input ? jv::stringify(*input) : std::string("{}"), a);
      jv::add(call, "function", std::move(fn), a);
      calls.PushBack(call, a);
    }
  }
  Value m(rapidjson::kObjectType);
  jv::add(m, "role", "assistant", a);
  if (text.empty() && !calls.Empty())
    jv::add(m, "content", Value(rapidjson::kNullType), a);
  else
    jv::add(m, "content", text, a);
  if (!calls.Empty()) jv::add(m, "tool_calls", std::move(calls), a);
  if (!reasoning.empty()) jv::add(m, kReasoningKey, reasoning, a);
  messages.PushBack(m, a);
}

void convert_tools(const Value& req, Value& chat, Alloc& a) {
  const Value* tools = jv::get(req, "tools");
  if (!tools || !tools->IsArray()) return;
  Value out(rapidjson::kArrayType);
  for (const auto& t : tools->GetArray()) {
    std::string_view type = jv::sv(t, "type");
    if (!type.empty() && type != "custom") continue;  // server tools (web_search_2025..., bash_2025...) run at Anthropic only
    if (jv::sv(t, "name").empty()) continue;
    Value fn(rapidjson::kObjectType);
    jv::add(fn, "name", jv::sv(t, "name"), a);
    if (const Value* d = jv::get(t, "description")) jv::add(fn, "description", Value(*d, a), a);
    const Value* schema = jv::get(t, "input_schema");
    if (schema && schema->IsObject()) {
      jv::add(fn, "parameters", Value(*schema, a), a);
    } else {
      Value p(rapidjson::kObjectType);
      jv::add(p, "type", "object", a);
      jv::add(p, "properties", Value(rapidjson::kObjectType), a);
      jv::add(fn, "parameters", std::move(p), a);
    }
    Value tool(rapidjson::kObjectType);
    jv::add(tool, "type", "function", a);
    jv::add(tool, "function", std::move(fn), a);
    out.PushBack(tool, a);
  }
  if (out.Empty()) return;
  jv::add(chat, "tools", std::move(out), a);

  if (const Value* tc = jv::get(req, "tool_choice")) {
    std::string_view type = jv::sv(*tc, "type");
    if (type == "auto") jv::add(chat, "tool_choice", "auto", a);
    else if (type == "none") jv::add(chat, "tool_choice", "none", a);
    else if (type == "any") jv::add(chat, "tool_choice", "required", a);
    else if (type == "tool") {
      Value choice(rapidjson::kObjectType);
      jv::add(choice, "type", "function", a);
      Value fn(rapidjson::kObjectType);
      jv::add(fn, "name", jv::sv(*tc, "name"), a);
      jv::add(choice, "function", std::move(fn), a);
      jv::add(chat, "tool_choice", std::move(choice), a);
    }
    if (const Value* dp = jv::get(*tc, "disable_parallel_tool_use"); dp && dp->IsBool() && dp->GetBool())
      jv::add(chat, "parallel_tool_calls", Value(false), a);
  }
}

}  // namespace

void messages_to_chat(const Value& req, rapidjson::Document& chat) {
  chat.SetObject();
  Alloc& a = chat.GetAllocator();
  jv::add(chat, "model", jv::sv(req, "model"), a);

  // System text: the top-level `system`, plus any role:"system" message Claude Code puts in messages.
  std::string system;
  if (const Value* s = jv::get(req, "system")) system = jv::text_of(*s);
  const Value* msgs = jv::get(req, "messages");
  if (msgs && msgs->IsArray())
    for (const auto& m : msgs->GetArray())
      if (jv::sv(m, "role") == "system")
        if (const Value* c = jv::get(m, "content")) {
          std::string t = jv::text_of(*c);
          if (!t.empty()) system += (system.empty() ? "" : "\n\n") + t;
        }

  Value messages(rapidjson::kArrayType);
  if (!system.empty()) add_message(messages, "system", jv::str(system, a), a);
  if (msgs && msgs->IsArray())
    for (const auto& m : msgs->GetArray()) {
      const Value* c = jv::get(m, "content");
      if (!c) continue;
      std::string_view role = jv::sv(m, "role");
      if (role == "user") convert_user(*c, messages, a);
      else if (role == "assistant") convert_assistant(*c, messages, a);
    }
  jv::add(chat, "messages", std::move(messages), a);
  convert_tools(req, chat, a);

  if (const Value* mt = jv::get(req, "max_tokens")) jv::add(chat, "max_tokens", Value(*mt, a), a);
  if (const Value* ss = jv::get(req, "stop_sequences"); ss && ss->IsArray() && !ss->Empty())
    jv::add(chat, "stop", Value(*ss, a), a);
  for (const char* k : {"temperature", "top_p"})
    if (const Value* v = jv::get(req, k); v && v->IsNumber()) jv::add(chat, k, Value(*v, a), a);
  if (const Value* s = jv::get(req, "stream"); s && s->IsBool()) jv::add(chat, "stream", Value(s->GetBool()), a);
}

}  // namespace lingmo::translate
