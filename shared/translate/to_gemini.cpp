// Vendor bodies for Gemini's native API (vendors.md 5 and 6.2 "Request, OpenAI client -> Gemini
// vendor"): generateContent / streamGenerateContent?alt=sse, the model in the URL path.
// Gemini accepts only an OpenAPI subset of JSON Schema and rejects unknown fields, so tool
// schemas are cleaned and only known generationConfig fields are set.
#include <openssl/evp.h>

#include <map>

#include "translate/hub.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

using jv::Alloc;
using jv::Value;

constexpr std::string_view kIdPrefix = "lmg";
// Google's documented stand-in for a signature the client's history no longer has (e.g. the
// calls were made by another vendor): Gemini 3 refuses function calls without any signature.
constexpr const char* kDummySignature = "skip_thought_signature_validator";

std::string b64url(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return out;
}

std::string unb64url(std::string_view s) {
  std::string in(s);
  for (char& c : in) c = c == '-' ? '+' : (c == '_' ? '/' : c);
  while (in.size() % 4) in += '=';
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return {};
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// JSON Schema -> Gemini's Schema subset: known keywords only, ["x","null"] types as nullable,
// const as a one-value enum, empty `properties` removed (Gemini refuses them).
Value clean_schema(const Value& s, Alloc& a) {
  Value out(rapidjson::kObjectType);
  if (!s.IsObject()) return out;
  for (const auto& m : s.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    const Value& v = m.value;
    if (k == "type") {
      if (v.IsString()) {
        jv::add(out, "type", Value(v, a), a);
      } else if (v.IsArray()) {
        for (const auto& t : v.GetArray()) {
          if (jv::sv(&t) == "null") jv::add(out, "nullable", Value(true), a);
          else if (t.IsString() && !out.HasMember("type")) jv::add(out, "type", Value(t, a), a);
        }
      }
    } else if (k == "description" || k == "nullable" || k == "minItems" || k == "maxItems" || k == "minimum" ||
               k == "maximum" || k == "required") {
      jv::add(out, std::string(k).c_str(), Value(v, a), a);
    } else if (k == "enum" && v.IsArray()) {
      Value e(rapidjson::kArrayType);
      for (const auto& x : v.GetArray())
        if (x.IsString()) e.PushBack(Value(x, a), a);
      if (!e.Empty()) jv::add(out, "enum", std::move(e), a);
    } else if (k == "const" && v.IsString()) {
      Value e(rapidjson::kArrayType);
      e.PushBack(Value(v, a), a);
      jv::add(out, "enum", std::move(e), a);
    } else if (k == "properties" && v.IsObject() && v.MemberCount() > 0) {
      Value props(rapidjson::kObjectType);
      for (const auto& p : v.GetObject()) props.AddMember(Value(p.name, a), clean_schema(p.value, a), a);
      jv::add(out, "properties", std::move(props), a);
    } else if (k == "items" && v.IsObject()) {
      jv::add(out, "items", clean_schema(v, a), a);
    } else if (k == "anyOf" && v.IsArray()) {
      Value any(rapidjson::kArrayType);
      for (const auto& x : v.GetArray()) any.PushBack(clean_schema(x, a), a);
      jv::add(out, "anyOf", std::move(any), a);
    }
  }
  // `required` may only name properties that exist.
  if (auto req = out.FindMember("required"); req != out.MemberEnd()) {
    const Value* props = jv::get(out, "properties");
    Value kept(rapidjson::kArrayType);
    if (req->value.IsArray() && props)
      for (const auto& r : req->value.GetArray())
        if (r.IsString() && props->HasMember(r)) kept.PushBack(Value(r, a), a);
    if (kept.Empty()) out.RemoveMember("required");
    else req->value = kept;
  }
  return out;
}

Value text_part(std::string_view t, Alloc& a) {
  Value p(rapidjson::kObjectType);
  jv::add(p, "text", t, a);
  return p;
}

void user_parts(const Value& content, Value& parts, Alloc& a) {
  if (content.IsString()) {
    if (content.GetStringLength()) parts.PushBack(text_part(jv::sv(&content), a), a);
    return;
  }
  if (!content.IsArray()) return;
  for (const auto& p : content.GetArray()) {
    std::string_view type = jv::sv(p, "type");
    if (type == "text" && !jv::sv(p, "text").empty()) {
      parts.PushBack(text_part(jv::sv(p, "text"), a), a);
    } else if (type == "image_url") {
      const Value* iu = jv::get(p, "image_url");
      std::string_view url = iu ? (iu->IsString() ? jv::sv(iu) : jv::sv(*iu, "url")) : std::string_view();
      size_t semi = url.find(';'), comma = url.find(',');
      Value part(rapidjson::kObjectType);
      if (url.substr(0, 5) == "data:" && semi != std::string_view::npos && comma != std::string_view::npos && semi < comma) {
        Value inline_data(rapidjson::kObjectType);
        jv::add(inline_data, "mimeType", url.substr(5, semi - 5), a);
        jv::add(inline_data, "data", url.substr(comma + 1), a);
        jv::add(part, "inlineData", std::move(inline_data), a);
      } else if (!url.empty()) {
        Value file(rapidjson::kObjectType);
        jv::add(file, "mimeType", "image/jpeg", a);
        jv::add(file, "fileUri", url, a);
        jv::add(part, "fileData", std::move(file), a);
      } else {
        continue;
      }
      parts.PushBack(part, a);
    }
  }
}

void push_turn(Value& contents, std::string_view role, Value& parts, Alloc& a) {
  if (parts.Empty()) return;
  if (!contents.Empty()) {
    Value& last = contents[contents.Size() - 1];
    if (jv::sv(last, "role") == role) {
      for (auto& p : parts.GetArray()) last["parts"].PushBack(p, a);
      return;
    }
  }
  Value c(rapidjson::kObjectType);
  jv::add(c, "role", role, a);
  jv::add(c, "parts", std::move(parts), a);
  contents.PushBack(c, a);
}

}  // namespace

// "lmg" + 8 random hex + "v" + base64url(gemini id + "\n" + signature), or + "n" when there is
// neither. Only [A-Za-z0-9_-]: Anthropic clients require that of tool ids.
std::string gemini_call_id(std::string_view sig, std::string_view gemini_id) {
  std::string id = mint_id(kIdPrefix).substr(0, kIdPrefix.size() + 8);
  if (sig.empty() && gemini_id.empty()) return id + "n";
  return id + "v" + b64url(std::string(gemini_id) + "\n" + std::string(sig));
}

GeminiCallRef gemini_call_ref(std::string_view id) {
  size_t head = kIdPrefix.size() + 8;
  if (id.size() <= head + 1 || id.substr(0, kIdPrefix.size()) != kIdPrefix || id[head] != 'v') return {};
  std::string raw = unb64url(id.substr(head + 1));
  size_t nl = raw.find('\n');
  if (nl == std::string::npos) return {};
  return GeminiCallRef{raw.substr(nl + 1), raw.substr(0, nl)};
}

VendorRequest chat_to_gemini(const ClientRequest& req, const Target& t) {
  const Value& chat = req.as_chat();
  rapidjson::Document d(rapidjson::kObjectType);
  Alloc& a = d.GetAllocator();
  std::string model = t.upstream_model;
  if (model.rfind("models/", 0) == 0) model.erase(0, 7);
  bool needs_signatures = model.rfind("gemini-3", 0) == 0;

  std::string system;
  Value contents(rapidjson::kArrayType);
  std::map<std::string, std::string> call_names;  // tool-call id -> function name (functionResponse needs it)
  if (const Value* msgs = jv::get(chat, "messages"); msgs && msgs->IsArray())
    for (const auto& m : msgs->GetArray()) {
      std::string_view role = jv::sv(m, "role");
      const Value* content = jv::get(m, "content");
      Value parts(rapidjson::kArrayType);
      if (role == "system" || role == "developer") {
        std::string text = content ? jv::text_of(*content) : std::string();
        if (!text.empty()) system += (system.empty() ? "" : "\n\n") + text;
      } else if (role == "user") {
        if (content) user_parts(*content, parts, a);
        push_turn(contents, "user", parts, a);
      } else if (role == "assistant") {
        if (content) {
          std::string text = jv::text_of(*content, "");
          if (!text.empty()) parts.PushBack(text_part(text, a), a);
        }
        if (const Value* calls = jv::get(m, "tool_calls"); calls && calls->IsArray())
          for (const auto& c : calls->GetArray()) {
            const Value* fn = jv::get(c, "function");
            if (!fn) continue;
            std::string id(jv::sv(c, "id"));
            call_names[id] = std::string(jv::sv(*fn, "name"));
            GeminiCallRef ref = gemini_call_ref(id);
            Value call(rapidjson::kObjectType);
            if (!ref.id.empty()) jv::add(call, "id", ref.id, a);
            jv::add(call, "name", jv::sv(*fn, "name"), a);
            rapidjson::Document args;
            std::string_view raw = jv::sv(*fn, "arguments");
            json::parse(args, raw.data(), raw.size());
            if (args.HasParseError() || !args.IsObject()) args.SetObject();
            jv::add(call, "args", Value(args, a), a);
            Value part(rapidjson::kObjectType);
            jv::add(part, "functionCall", std::move(call), a);
            if (!ref.signature.empty()) jv::add(part, "thoughtSignature", ref.signature, a);
            else if (needs_signatures) jv::add(part, "thoughtSignature", kDummySignature, a);
            parts.PushBack(part, a);
          }
        push_turn(contents, "model", parts, a);
      } else if (role == "tool") {
        std::string text = content ? jv::text_of(*content, "\n") : std::string();
        std::string id(jv::sv(m, "tool_call_id"));
        Value resp(rapidjson::kObjectType);
        if (std::string gid = gemini_call_ref(id).id; !gid.empty()) jv::add(resp, "id", gid, a);
        jv::add(resp, "name", call_names.count(id) ? call_names[id] : std::string("tool"), a);
        rapidjson::Document parsed;
        json::parse(parsed, text.data(), text.size());
        if (!parsed.HasParseError() && parsed.IsObject()) {
          jv::add(resp, "response", Value(parsed, a), a);
        } else {
          Value wrapped(rapidjson::kObjectType);
          jv::add(wrapped, "result", text, a);
          jv::add(resp, "response", std::move(wrapped), a);
        }
        Value part(rapidjson::kObjectType);
        jv::add(part, "functionResponse", std::move(resp), a);
        parts.PushBack(part, a);
        push_turn(contents, "user", parts, a);
      }
    }
  if (!system.empty()) {
    Value si(rapidjson::kObjectType);
    Value parts(rapidjson::kArrayType);
    parts.PushBack(text_part(system, a), a);
    jv::add(si, "parts", std::move(parts), a);
    jv::add(d, "systemInstruction", std::move(si), a);
  }
  jv::add(d, "contents", std::move(contents), a);

  if (const Value* tools = jv::get(chat, "tools"); tools && tools->IsArray() && !tools->Empty()) {
    Value decls(rapidjson::kArrayType);
    for (const auto& tool : tools->GetArray()) {
      const Value* fn = jv::get(tool, "function");
      if (!fn || jv::sv(*fn, "name").empty()) continue;
      Value decl(rapidjson::kObjectType);
      jv::add(decl, "name", jv::sv(*fn, "name"), a);
      if (const Value* desc = jv::get(*fn, "description")) jv::add(decl, "description", Value(*desc, a), a);
      if (const Value* params = jv::get(*fn, "parameters")) {
        Value cleaned = clean_schema(*params, a);
        if (cleaned.HasMember("properties")) jv::add(decl, "parameters", std::move(cleaned), a);
      }
      decls.PushBack(decl, a);
    }
    if (!decls.Empty()) {
      Value group(rapidjson::kObjectType);
      jv::add(group, "functionDeclarations", std::move(decls), a);
      Value list(rapidjson::kArrayType);
      list.PushBack(group, a);
      jv::add(d, "tools", std::move(list), a);
      if (const Value* tc = jv::get(chat, "tool_choice")) {
        Value cfg(rapidjson::kObjectType);
        std::string_view s = jv::sv(tc);
        if (s == "none") jv::add(cfg, "mode", "NONE", a);
        else if (s == "required") jv::add(cfg, "mode", "ANY", a);
        else if (s == "auto") jv::add(cfg, "mode", "AUTO", a);
        else if (const Value* fn = jv::get(*tc, "function"); fn && !jv::sv(*fn, "name").empty()) {
          jv::add(cfg, "mode", "ANY", a);
          Value names(rapidjson::kArrayType);
          names.PushBack(jv::str(jv::sv(*fn, "name"), a), a);
          jv::add(cfg, "allowedFunctionNames", std::move(names), a);
        }
        if (cfg.HasMember("mode")) {
          Value tcfg(rapidjson::kObjectType);
          jv::add(tcfg, "functionCallingConfig", std::move(cfg), a);
          jv::add(d, "toolConfig", std::move(tcfg), a);
        }
      }
    }
  }

  Value gen(rapidjson::kObjectType);
  if (int64_t cap = output_cap(req, t, 0); cap > 0) jv::add(gen, "maxOutputTokens", Value(cap), a);
  if (const Value* v = jv::get(chat, "temperature"); v && v->IsNumber()) jv::add(gen, "temperature", Value(*v, a), a);
  if (const Value* v = jv::get(chat, "top_p"); v && v->IsNumber()) jv::add(gen, "topP", Value(*v, a), a);
  if (const Value* stop = jv::get(chat, "stop")) {
    Value seq(rapidjson::kArrayType);
    if (stop->IsString()) seq.PushBack(Value(*stop, a), a);
    else if (stop->IsArray())
      for (const auto& s : stop->GetArray())
        if (s.IsString() && seq.Size() < 5) seq.PushBack(Value(s, a), a);
    if (!seq.Empty()) jv::add(gen, "stopSequences", std::move(seq), a);
  }
  if (const Value* n = jv::get(chat, "n"); n && n->IsInt() && n->GetInt() > 1) jv::add(gen, "candidateCount", Value(n->GetInt()), a);
  if (const Value* rf = jv::get(chat, "response_format")) {
    std::string_view type = jv::sv(*rf, "type");
    if (type == "json_object" || type == "json_schema") jv::add(gen, "responseMimeType", "application/json", a);
    if (type == "json_schema")
      if (const Value* js = jv::get(*rf, "json_schema"))
        if (const Value* schema = jv::get(*js, "schema")) jv::add(gen, "responseSchema", clean_schema(*schema, a), a);
  }
  if (gen.MemberCount()) jv::add(d, "generationConfig", std::move(gen), a);

  std::string path = "/models/" + model + (req.stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
  return VendorRequest{path, jv::stringify(d), {}};
}

}  // namespace lingmo::translate
