// Vendor bodies for Anthropic-dialect vendors: the hub (chat) request as a Messages request
// (vendors.md 6.2 "Request, OpenAI client -> Anthropic vendor"), and the passthroughs for
// Anthropic clients, which keep everything Anthropic understands (cache_control, thinking
// signatures, betas) and change only the model.
#include <algorithm>

#include "translate/hub.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

using jv::Alloc;
using jv::Value;

constexpr const char* kDefaultVersion = "2023-06-01";
constexpr int64_t kDefaultMaxTokens = 4096;  // Anthropic requires max_tokens; chat clients may omit it

std::vector<std::pair<std::string, std::string>> anthropic_headers(const ClientRequest& req, bool with_betas) {
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back("anthropic-version", req.anthropic_version.empty() ? kDefaultVersion : req.anthropic_version);
  if (with_betas && !req.anthropic_beta.empty()) h.emplace_back("anthropic-beta", req.anthropic_beta);
  return h;
}

// An image_url part as an Anthropic image block (data URI -> base64 source, else URL source).
bool image_block(const Value& part, Value& block, Alloc& a) {
  const Value* iu = jv::get(part, "image_url");
  std::string_view url = iu ? (iu->IsString() ? jv::sv(iu) : jv::sv(*iu, "url")) : std::string_view();
  if (url.empty()) return false;
  block.SetObject();
  jv::add(block, "type", "image", a);
  Value src(rapidjson::kObjectType);
  if (url.substr(0, 5) == "data:") {
    size_t semi = url.find(';'), comma = url.find(',');
    if (semi == std::string_view::npos || comma == std::string_view::npos || semi > comma) return false;
    jv::add(src, "type", "base64", a);
    jv::add(src, "media_type", url.substr(5, semi - 5), a);
    jv::add(src, "data", url.substr(comma + 1), a);
  } else {
    jv::add(src, "type", "url", a);
    jv::add(src, "url", url, a);
  }
  jv::add(block, "source", std::move(src), a);
  return true;
}

Value text_block(std::string_view text, Alloc& a) {
  Value b(rapidjson::kObjectType);
  jv::add(b, "type", "text", a);
  jv::add(b, "text", text, a);
  return b;
}

void content_blocks(const Value& content, Value& blocks, Alloc& a) {
  if (content.IsString()) {
    if (content.GetStringLength()) blocks.PushBack(text_block(jv::sv(&content), a), a);
    return;
  }
  if (!content.IsArray()) return;
  for (const auto& p : content.GetArray()) {
    std::string_view type = jv::sv(p, "type");
    if (type == "text" && !jv::sv(p, "text").empty()) {
      blocks.PushBack(text_block(jv::sv(p, "text"), a), a);
    } else if (type == "image_url") {
      Value b;
      if (image_block(p, b, a)) blocks.PushBack(b, a);
    }
  }
}

// Appends blocks as a turn of `role`, merged into the previous turn when it has the same role
// (Anthropic wants strictly alternating turns; chat has consecutive tool + user messages).
void push_turn(Value& messages, std::string_view role, Value& blocks, Alloc& a) {
  if (blocks.Empty()) return;
  if (!messages.Empty()) {
    Value& last = messages[messages.Size() - 1];
    if (jv::sv(last, "role") == role) {
      for (auto& b : blocks.GetArray()) last["content"].PushBack(b, a);
      return;
    }
  }
  Value m(rapidjson::kObjectType);
  jv::add(m, "role", role, a);
  jv::add(m, "content", std::move(blocks), a);
  messages.PushBack(m, a);
}

void convert_tools(const Value& chat, Value& out, Alloc& a) {
  const Value* tools = jv::get(chat, "tools");
  if (!tools || !tools->IsArray() || tools->Empty()) return;
  Value list(rapidjson::kArrayType);
  for (const auto& t : tools->GetArray()) {
    const Value* fn = jv::get(t, "function");
    if (jv::sv(t, "type") != "function" || !fn || jv::sv(*fn, "name").empty()) continue;
    Value tool(rapidjson::kObjectType);
    jv::add(tool, "name", jv::sv(*fn, "name"), a);
    if (const Value* d = jv::get(*fn, "description")) jv::add(tool, "description", Value(*d, a), a);
    const Value* params = jv::get(*fn, "parameters");
    if (params && params->IsObject()) {
      jv::add(tool, "input_schema", Value(*params, a), a);
    } else {
      Value s(rapidjson::kObjectType);
      jv::add(s, "type", "object", a);
      jv::add(tool, "input_schema", std::move(s), a);
    }
    list.PushBack(tool, a);
  }
  if (list.Empty()) return;
  jv::add(out, "tools", std::move(list), a);
  Value choice(rapidjson::kObjectType);
  if (const Value* tc = jv::get(chat, "tool_choice")) {
    std::string_view s = jv::sv(tc);
    if (s == "none") jv::add(choice, "type", "none", a);
    else if (s == "required") jv::add(choice, "type", "any", a);
    else if (const Value* fn = jv::get(*tc, "function"); fn && !jv::sv(*fn, "name").empty()) {
      jv::add(choice, "type", "tool", a);
      jv::add(choice, "name", jv::sv(*fn, "name"), a);
    }
  }
  if (const Value* p = jv::get(chat, "parallel_tool_calls"); p && p->IsBool() && !p->GetBool()) {
    if (!choice.HasMember("type")) jv::add(choice, "type", "auto", a);
    if (jv::sv(choice, "type") != "none") jv::add(choice, "disable_parallel_tool_use", Value(true), a);
  }
  if (choice.HasMember("type")) jv::add(out, "tool_choice", std::move(choice), a);
}

// Anthropic wants thinking.budget_tokens in [1024, max_tokens): Qwen Code sets it equal to
// max_tokens, and a clamped max_tokens can fall below it. Too small a budget turns thinking off.
void fit_thinking_budget(rapidjson::Document& d) {
  auto th = d.FindMember("thinking");
  auto mt = d.FindMember("max_tokens");
  if (th == d.MemberEnd() || mt == d.MemberEnd() || !th->value.IsObject() || !mt->value.IsInt64()) return;
  auto budget = th->value.FindMember("budget_tokens");
  if (budget == th->value.MemberEnd() || !budget->value.IsInt64()) return;
  int64_t max_tokens = mt->value.GetInt64();
  if (budget->value.GetInt64() < max_tokens) return;
  if (max_tokens <= 1024) {
    d.RemoveMember(th);
  } else {
    budget->value.SetInt64(max_tokens - 1);
  }
}

// Claude Code may put a role:"system" message inside `messages`; Anthropic accepts only user and
// assistant there. Its text joins the top-level system (as more text blocks, so cache_control
// on the existing blocks stays where it was).
void hoist_system_messages(rapidjson::Document& d) {
  auto msgs = d.FindMember("messages");
  if (msgs == d.MemberEnd() || !msgs->value.IsArray()) return;
  Alloc& a = d.GetAllocator();
  Value extra(rapidjson::kArrayType);
  auto& arr = msgs->value;
  for (auto m = arr.Begin(); m != arr.End();) {
    if (jv::sv(*m, "role") != "system") {
      ++m;
      continue;
    }
    if (const Value* c = jv::get(*m, "content")) {
      if (c->IsString()) {
        if (c->GetStringLength()) extra.PushBack(text_block(jv::sv(c), a), a);
      } else if (c->IsArray()) {
        for (const auto& b : c->GetArray())
          if (jv::sv(b, "type") == "text" && !jv::sv(b, "text").empty()) extra.PushBack(Value(b, a), a);
      }
    }
    m = arr.Erase(m);
  }
  if (extra.Empty()) return;
  auto sys = d.FindMember("system");
  if (sys == d.MemberEnd() || sys->value.IsNull()) {
    d.RemoveMember("system");
    jv::add(d, "system", std::move(extra), a);
    return;
  }
  if (sys->value.IsString()) {
    Value blocks(rapidjson::kArrayType);
    if (sys->value.GetStringLength()) blocks.PushBack(text_block(jv::sv(&sys->value), a), a);
    sys->value = blocks;
  }
  if (sys->value.IsArray())
    for (auto& b : extra.GetArray()) sys->value.PushBack(b, a);
}

}  // namespace

VendorRequest chat_to_anthropic(const ClientRequest& req, const Target& t) {
  const Value& chat = req.as_chat();
  rapidjson::Document d(rapidjson::kObjectType);
  Alloc& a = d.GetAllocator();
  jv::add(d, "model", t.upstream_model, a);
  jv::add(d, "max_tokens", Value(static_cast<int64_t>(output_cap(req, t, kDefaultMaxTokens))), a);

  std::string system;
  Value messages(rapidjson::kArrayType);
  if (const Value* msgs = jv::get(chat, "messages"); msgs && msgs->IsArray())
    for (const auto& m : msgs->GetArray()) {
      std::string_view role = jv::sv(m, "role");
      const Value* content = jv::get(m, "content");
      Value blocks(rapidjson::kArrayType);
      if (role == "system" || role == "developer") {
        std::string text = content ? jv::text_of(*content) : std::string();
        if (!text.empty()) system += (system.empty() ? "" : "\n\n") + text;
      } else if (role == "user") {
        if (content) content_blocks(*content, blocks, a);
        push_turn(messages, "user", blocks, a);
      } else if (role == "assistant") {
        if (content) content_blocks(*content, blocks, a);
        if (const Value* calls = jv::get(m, "tool_calls"); calls && calls->IsArray())
          for (const auto& c : calls->GetArray()) {
            const Value* fn = jv::get(c, "function");
            if (!fn) continue;
            Value b(rapidjson::kObjectType);
            jv::add(b, "type", "tool_use", a);
            jv::add(b, "id", jv::sv(c, "id"), a);
            jv::add(b, "name", jv::sv(*fn, "name"), a);
            rapidjson::Document args;
            std::string_view raw = jv::sv(*fn, "arguments");
            json::parse(args, raw.data(), raw.size());
            if (args.HasParseError() || !args.IsObject()) args.SetObject();  // the vendor needs an object
            jv::add(b, "input", Value(args, a), a);
            blocks.PushBack(b, a);
          }
        push_turn(messages, "assistant", blocks, a);
      } else if (role == "tool") {
        Value b(rapidjson::kObjectType);
        jv::add(b, "type", "tool_result", a);
        jv::add(b, "tool_use_id", jv::sv(m, "tool_call_id"), a);
        jv::add(b, "content", content ? jv::text_of(*content, "\n") : std::string(), a);
        blocks.PushBack(b, a);
        push_turn(messages, "user", blocks, a);
      }
    }
  if (!system.empty()) jv::add(d, "system", system, a);
  jv::add(d, "messages", std::move(messages), a);
  convert_tools(chat, d, a);

  if (const Value* stop = jv::get(chat, "stop")) {
    Value seq(rapidjson::kArrayType);
    if (stop->IsString()) seq.PushBack(Value(*stop, a), a);
    else if (stop->IsArray())
      for (const auto& s : stop->GetArray())
        if (s.IsString()) seq.PushBack(Value(s, a), a);
    if (!seq.Empty()) jv::add(d, "stop_sequences", std::move(seq), a);
  }
  if (const Value* v = jv::get(chat, "temperature"); v && v->IsNumber())
    jv::add(d, "temperature", Value(std::clamp(v->GetDouble(), 0.0, 1.0)), a);  // Anthropic takes 0..1
  if (const Value* v = jv::get(chat, "top_p"); v && v->IsNumber()) jv::add(d, "top_p", Value(*v, a), a);
  if (std::string_view user = jv::sv(chat, "user"); !user.empty()) {
    Value md(rapidjson::kObjectType);
    jv::add(md, "user_id", user, a);
    jv::add(d, "metadata", std::move(md), a);
  }
  if (req.stream) jv::add(d, "stream", Value(true), a);
  return VendorRequest{"/messages", jv::stringify(d), anthropic_headers(req, false)};
}

VendorRequest messages_passthrough(const ClientRequest& req, const Target& t) {
  rapidjson::Document d;
  d.CopyFrom(req.doc, d.GetAllocator());
  Alloc& a = d.GetAllocator();
  d["model"].SetString(t.upstream_model.data(), static_cast<rapidjson::SizeType>(t.upstream_model.size()), a);
  if (int64_t cap = output_cap(req, t, 0); cap > 0) d["max_tokens"].SetInt64(cap);
  fit_thinking_budget(d);
  hoist_system_messages(d);
  // Thinking blocks the gateway made from another vendor's reasoning carry no real signature:
  // Anthropic would reject the whole request over them.
  if (auto msgs = d.FindMember("messages"); msgs != d.MemberEnd() && msgs->value.IsArray())
    for (auto& m : msgs->value.GetArray()) {
      auto c = m.FindMember("content");
      if (c == m.MemberEnd() || !c->value.IsArray()) continue;
      auto& arr = c->value;
      for (auto b = arr.Begin(); b != arr.End();) {
        std::string_view sig = jv::sv(*b, "signature");
        if (jv::sv(*b, "type") == "thinking" && (sig.empty() || sig.substr(0, 6) == "lingmo"))
          b = arr.Erase(b);
        else
          ++b;
      }
    }
  return VendorRequest{"/messages", jv::stringify(d), anthropic_headers(req, true)};
}

VendorRequest count_tokens_passthrough(const ClientRequest& req, const Target& t) {
  rapidjson::Document d;
  d.CopyFrom(req.doc, d.GetAllocator());
  d["model"].SetString(t.upstream_model.data(), static_cast<rapidjson::SizeType>(t.upstream_model.size()), d.GetAllocator());
  for (const char* k : {"max_tokens", "stream", "metadata", "stop_sequences", "temperature", "top_p", "top_k"})
    d.RemoveMember(k);  // count_tokens refuses generation settings
  return VendorRequest{"/messages/count_tokens", jv::stringify(d), anthropic_headers(req, true)};
}

}  // namespace lingmo::translate
