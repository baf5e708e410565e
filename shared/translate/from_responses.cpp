// OpenAI Responses request -> hub (chat) request, for chat-completions vendors (what Codex CLI
// and opencode send). Hosted tools (web_search, file_search, code_interpreter, ...) run only at
// OpenAI and are dropped; "custom" free-text tools become functions with one string argument;
// "namespace" tool groups are flattened into their functions.
#include "translate/hub.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

using jv::Alloc;
using jv::Value;

Value function_tool(const Value& t, Alloc& a) {
  Value fn(rapidjson::kObjectType);
  jv::add(fn, "name", jv::sv(t, "name"), a);
  if (const Value* d = jv::get(t, "description")) jv::add(fn, "description", Value(*d, a), a);
  if (const Value* p = jv::get(t, "parameters"); p && p->IsObject()) {
    jv::add(fn, "parameters", Value(*p, a), a);
  } else {
    Value p2(rapidjson::kObjectType);
    jv::add(p2, "type", "object", a);
    jv::add(p2, "properties", Value(rapidjson::kObjectType), a);
    jv::add(fn, "parameters", std::move(p2), a);
  }
  if (const Value* s = jv::get(t, "strict"); s && s->IsBool()) jv::add(fn, "strict", Value(s->GetBool()), a);
  Value tool(rapidjson::kObjectType);
  jv::add(tool, "type", "function", a);
  jv::add(tool, "function", std::move(fn), a);
  return tool;
}

// A custom tool takes free text; a chat vendor gets it as a function with one string argument.
Value custom_tool(const Value& t, Alloc& a) {
  Value fn(rapidjson::kObjectType);
  jv::add(fn, "name", jv::sv(t, "name"), a);
  if (const Value* d = jv::get(t, "description")) jv::add(fn, "description", Value(*d, a), a);
  Value params(rapidjson::kObjectType);
  jv::add(params, "type", "object", a);
  Value props(rapidjson::kObjectType);
  Value input(rapidjson::kObjectType);
  jv::add(input, "type", "string", a);
  jv::add(input, "description", "The raw text input of the tool.", a);
  jv::add(props, "input", std::move(input), a);
  jv::add(params, "properties", std::move(props), a);
  Value req(rapidjson::kArrayType);
  req.PushBack(jv::str("input", a), a);
  jv::add(params, "required", std::move(req), a);
  jv::add(fn, "parameters", std::move(params), a);
  Value tool(rapidjson::kObjectType);
  jv::add(tool, "type", "function", a);
  jv::add(tool, "function", std::move(fn), a);
  return tool;
}

void convert_tools(const Value& req, Value& chat, ClientRequest& cr, Alloc& a) {
  const Value* tools = jv::get(req, "tools");
  Value out(rapidjson::kArrayType);
  auto one = [&](const Value& t, std::string_view ns) {
    std::string_view type = jv::sv(t, "type");
    std::string name(jv::sv(t, "name"));
    if ((type != "function" && type != "custom") || name.empty()) return;
    Value tool = type == "function" ? function_tool(t, a) : custom_tool(t, a);
    if (type == "custom") cr.custom_tools.insert(name);
    if (!ns.empty()) {
      std::string flat = std::string(ns) + "__" + name;
      cr.namespaced[flat] = {std::string(ns), name};
      tool["function"]["name"].SetString(flat.data(), static_cast<rapidjson::SizeType>(flat.size()), a);
    }
    out.PushBack(tool, a);
  };
  if (tools && tools->IsArray())
    for (const auto& t : tools->GetArray()) {
      if (jv::sv(t, "type") != "namespace") {
        one(t, {});
      } else if (const Value* inner = jv::get(t, "tools"); inner && inner->IsArray()) {
        for (const auto& sub : inner->GetArray()) one(sub, jv::sv(t, "name"));
      }
    }
  if (out.Empty()) return;
  jv::add(chat, "tools", std::move(out), a);
  if (const Value* tc = jv::get(req, "tool_choice")) {
    if (tc->IsString()) {
      std::string_view s = jv::sv(tc);
      if (s == "auto" || s == "none" || s == "required") jv::add(chat, "tool_choice", s, a);
    } else if (std::string_view type = jv::sv(*tc, "type"); (type == "function" || type == "custom") && !jv::sv(*tc, "name").empty()) {
      Value choice(rapidjson::kObjectType);
      jv::add(choice, "type", "function", a);
      Value fn(rapidjson::kObjectType);
      jv::add(fn, "name", jv::sv(*tc, "name"), a);
      jv::add(choice, "function", std::move(fn), a);
      jv::add(chat, "tool_choice", std::move(choice), a);
    }
  }
  if (const Value* p = jv::get(req, "parallel_tool_calls"); p && p->IsBool())
    jv::add(chat, "parallel_tool_calls", Value(p->GetBool()), a);
}

// Content of a Responses message item: text joined, or parts when it carries images.
Value message_content(const Value& content, bool allow_parts, Alloc& a) {
  if (content.IsString()) return Value(content, a);
  Value parts(rapidjson::kArrayType);
  std::string text;
  bool has_image = false;
  if (content.IsArray())
    for (const auto& p : content.GetArray()) {
      std::string_view type = jv::sv(p, "type");
      if (type == "input_text" || type == "output_text" || type == "text" || type == "refusal") {
        std::string_view t = type == "refusal" ? jv::sv(p, "refusal") : jv::sv(p, "text");
        if (!text.empty()) text += "\n\n";
        text += t;
        Value part(rapidjson::kObjectType);
        jv::add(part, "type", "text", a);
        jv::add(part, "text", t, a);
        parts.PushBack(part, a);
      } else if (type == "input_image" && !jv::sv(p, "image_url").empty()) {
        has_image = true;
        Value part(rapidjson::kObjectType);
        jv::add(part, "type", "image_url", a);
        Value iu(rapidjson::kObjectType);
        jv::add(iu, "url", jv::sv(p, "image_url"), a);
        if (!jv::sv(p, "detail").empty()) jv::add(iu, "detail", jv::sv(p, "detail"), a);
        jv::add(part, "image_url", std::move(iu), a);
        parts.PushBack(part, a);
      }
    }
  if (has_image && allow_parts) return parts;
  return jv::str(text, a);
}

std::string output_text(const Value* output) {
  if (!output) return {};
  if (output->IsString()) return std::string(output->GetString(), output->GetStringLength());
  if (output->IsArray()) return jv::text_of(*output, "\n");
  return jv::stringify(*output);
}

}  // namespace

bool responses_to_chat(const Value& req, rapidjson::Document& chat, ClientRequest& out, ApiError& err) {
  if (jv::get(req, "previous_response_id")) {
    err = openai::invalid_request(
        "previous_response_id is not supported: the gateway does not store responses. Send the whole conversation in "
        "'input' (store: false).", "previous_response_id");
    return false;
  }
  chat.SetObject();
  Alloc& a = chat.GetAllocator();
  jv::add(chat, "model", jv::sv(req, "model"), a);
  Value messages(rapidjson::kArrayType);
  std::string system(jv::sv(req, "instructions"));
  const Value* input = jv::get(req, "input");
  // System and developer items join the instructions: many chat vendors take one system message.
  if (input && input->IsArray())
    for (const auto& item : input->GetArray()) {
      std::string_view role = jv::sv(item, "role");
      std::string_view type = jv::sv(item, "type");
      if ((type.empty() || type == "message") && (role == "system" || role == "developer")) {
        if (const Value* c = jv::get(item, "content")) {
          std::string t = message_content(*c, false, a).GetString();
          if (!t.empty()) system += (system.empty() ? "" : "\n\n") + t;
        }
      }
    }
  if (!system.empty()) {
    Value m(rapidjson::kObjectType);
    jv::add(m, "role", "system", a);
    jv::add(m, "content", system, a);
    messages.PushBack(m, a);
  }
  if (input && input->IsString()) {
    Value m(rapidjson::kObjectType);
    jv::add(m, "role", "user", a);
    jv::add(m, "content", Value(*input, a), a);
    messages.PushBack(m, a);
  } else if (input && input->IsArray()) {
    for (const auto& item : input->GetArray()) {
      std::string_view type = jv::sv(item, "type");
      std::string_view role = jv::sv(item, "role");
      if ((type.empty() || type == "message") && (role == "user" || role == "assistant")) {
        const Value* c = jv::get(item, "content");
        if (!c) continue;
        Value m(rapidjson::kObjectType);
        jv::add(m, "role", role, a);
        jv::add(m, "content", message_content(*c, role == "user", a), a);
        messages.PushBack(m, a);
      } else if (type == "function_call" || type == "custom_tool_call") {
        // Calls join the assistant message right before them (text + calls is one chat turn).
        Value call(rapidjson::kObjectType);
        jv::add(call, "id", jv::sv(item, "call_id"), a);
        jv::add(call, "type", "function", a);
        Value fn(rapidjson::kObjectType);
        std::string_view ns = jv::sv(item, "namespace");
        jv::add(fn, "name", ns.empty() ? std::string(jv::sv(item, "name")) : std::string(ns) + "__" + std::string(jv::sv(item, "name")), a);
        if (type == "function_call") {
          jv::add(fn, "arguments", jv::sv(item, "arguments"), a);
        } else {
          Value args(rapidjson::kObjectType);
          jv::add(args, "input", jv::sv(item, "input"), a);
          jv::add(fn, "arguments", jv::stringify(args), a);
        }
        jv::add(call, "function", std::move(fn), a);
        bool joined = false;
        if (!messages.Empty()) {
          Value& last = messages[messages.Size() - 1];
          if (jv::sv(last, "role") == "assistant") {
            if (!last.HasMember("tool_calls")) {
              jv::add(last, "tool_calls", Value(rapidjson::kArrayType), a);
              if (last["content"].IsString() && last["content"].GetStringLength() == 0) last["content"].SetNull();
            }
            last["tool_calls"].PushBack(call, a);
            joined = true;
          }
        }
        if (!joined) {
          Value m(rapidjson::kObjectType);
          jv::add(m, "role", "assistant", a);
          jv::add(m, "content", Value(rapidjson::kNullType), a);
          Value calls(rapidjson::kArrayType);
          calls.PushBack(call, a);
          jv::add(m, "tool_calls", std::move(calls), a);
          messages.PushBack(m, a);
        }
      } else if (type == "function_call_output" || type == "custom_tool_call_output") {
        Value m(rapidjson::kObjectType);
        jv::add(m, "role", "tool", a);
        jv::add(m, "tool_call_id", jv::sv(item, "call_id"), a);
        jv::add(m, "content", output_text(jv::get(item, "output")), a);
        messages.PushBack(m, a);
      }
      // reasoning, web_search_call, item_reference, ...: nothing a chat vendor can take.
    }
  }
  if (messages.Empty() || (messages.Size() == 1 && !system.empty())) {
    err = openai::invalid_request("'input' has no message a model could answer.", "input");
    return false;
  }
  jv::add(chat, "messages", std::move(messages), a);
  convert_tools(req, chat, out, a);
  if (const Value* m = jv::get(req, "max_output_tokens")) jv::add(chat, "max_tokens", Value(*m, a), a);
  for (const char* k : {"temperature", "top_p"})
    if (const Value* v = jv::get(req, k); v && v->IsNumber()) jv::add(chat, k, Value(*v, a), a);
  if (const Value* text = jv::get(req, "text"))
    if (const Value* fmt = jv::get(*text, "format")) {
      std::string_view type = jv::sv(*fmt, "type");
      Value rf(rapidjson::kObjectType);
      if (type == "json_object") {
        jv::add(rf, "type", "json_object", a);
      } else if (type == "json_schema") {
        jv::add(rf, "type", "json_schema", a);
        Value js(rapidjson::kObjectType);
        jv::add(js, "name", jv::sv(*fmt, "name").empty() ? "response" : jv::sv(*fmt, "name"), a);
        if (const Value* s = jv::get(*fmt, "schema")) jv::add(js, "schema", Value(*s, a), a);
        if (const Value* s = jv::get(*fmt, "strict"); s && s->IsBool()) jv::add(js, "strict", Value(s->GetBool()), a);
        jv::add(rf, "json_schema", std::move(js), a);
      }
      if (rf.MemberCount()) jv::add(chat, "response_format", std::move(rf), a);
    }
  if (const Value* s = jv::get(req, "stream"); s && s->IsBool()) jv::add(chat, "stream", Value(s->GetBool()), a);
  return true;
}

}  // namespace lingmo::translate
