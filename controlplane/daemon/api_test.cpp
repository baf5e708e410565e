// POST /api/model/test: one small real request to a provider — stored ({"id": ...}) or not yet
// saved (a provider body as for /api/model/add) — through the same translators as the data
// plane (shared/translate), behind the SSRF guard. Reports the HTTP status, the latency, the
// answer, the vendor's error classified like the data plane would (failover/signatures), and the
// vendor's model list where it has one.
#include <chrono>

#include "api.h"
#include "util/secret.h"
#include "clock.h"
#include "config/schema.h"
#include "failover/signatures.h"
#include "outbound.h"
#include "provider_input.h"
#include "translate/jsonv.h"
#include "translate/translator.h"
#include "util/json.h"

namespace lingmo::cp {

namespace {

namespace jv = translate::jv;
using rapidjson::Value;
using translate::ApiError;

// The vendor's model ids from its list endpoint (OpenAI/Anthropic data[].id, Gemini models[].name).
std::vector<std::string> model_ids(const std::string& body) {
  std::vector<std::string> out;
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) return out;
  for (const char* list : {"data", "models"})
    if (const auto* arr = jv::get(d, list); arr && arr->IsArray())
      for (const auto& m : arr->GetArray()) {
        std::string id(jv::sv(m, "id"));
        if (id.empty()) id = std::string(jv::sv(m, "name"));
        if (id.rfind("models/", 0) == 0) id.erase(0, 7);
        if (!id.empty() && out.size() < 500) out.push_back(id);
      }
  return out;
}

}  // namespace

void register_test_routes(Router& r, const Outbound& outbound) {
  App& app = r.app();
  r.route("POST", "/api/model/test", Access::kWrite, "provider.test", [&app, &outbound](const Call& c) {
    rapidjson::Document d;
    Reply err;
    if (!parse_body(c, d, err)) return err;
    config::Provider p;
    // {"id"} (and optionally "model") tests a stored provider; anything else is a provider body.
    bool stored_only = jv::get(d, "id") && d.MemberCount() == (jv::get(d, "model") ? 2u : 1u);
    if (stored_only) {
      std::string id = json::get_string(d, "id");
      auto stored = app.redis.get_string({"HGET", schema::kProviders, id});
      if (!stored) return storage_error(stored.error());
      if (stored.value().empty()) return not_found("provider " + id);
      auto parsed = schema::provider_from_json(stored.value());
      if (!parsed) return bad_request(parsed.error());
      p = std::move(parsed.value());
    } else {
      if (!jv::get(d, "id")) d.AddMember("id", "connectivity-test", d.GetAllocator());
      auto built = provider_from_body(app, d, nullptr);
      if (!built) return bad_request(built.error());
      p = std::move(built.value());
    }
    std::string key;
    if (!p.api_key_sealed.empty()) {
      auto k = app.secret.decrypt(p.api_key_sealed, p.id);
      if (!k) return bad_request("the stored vendor key cannot be decrypted with this secret key");
      key = k.value();
    }
    std::string model = json::get_string(d, "model", p.models.empty() ? "" : p.models.front().name);
    auto mapping = std::find_if(p.models.begin(), p.models.end(), [&](const auto& m) { return m.name == model; });
    std::string upstream = mapping != p.models.end() ? mapping->upstream : model;

    // The data plane's own translation: a one-line chat request in the provider's dialect.
    translate::ClientRequest req;
    ApiError parse_err;
    std::string chat = R"({"model":)" + json::quote(model) +
                       R"(,"messages":[{"role":"user","content":"Reply with the single word: pong"}],"max_tokens":16})";
    if (!translate::parse_client_request(translate::ClientApi::kChat, chat, req, parse_err)) return bad_request(parse_err.message);
    auto dialect = translate::parse_dialect(p.dialect).value_or(translate::VendorDialect::kOpenAI);
    translate::Translator t(req, dialect, epoch_ms() / 1000);
    translate::VendorRequest vr = t.request({&p, upstream});
    std::vector<std::string> headers{"Content-Type: application/json", "Accept: application/json"};
    if (!key.empty()) headers.push_back(translate::auth_header(p.dialect, key));
    for (const auto& [k, v] : vr.headers) headers.push_back(k + ": " + v);
    for (const auto& [k, v] : p.headers) headers.push_back(k + ": " + v);
    OutboundResult res = outbound.request("POST", p.base_url + vr.path, vr.body, headers, p.proxy, 20000);
    secret::redact(res.body, key);  // a vendor may quote the key back in its error

    rapidjson::Document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    jv::add(out, "provider", p.id, a);
    jv::add(out, "model", model, a);
    jv::add(out, "upstream_model", upstream, a);
    out.AddMember("status", static_cast<int64_t>(res.status), a);
    out.AddMember("latency_ms", res.latency_ms, a);
    bool ok = false;
    if (res.status >= 200 && res.status < 300) {
      std::string translated;
      if (t.on_body(res.body, translated) == translate::BodyKind::kAnswer) {
        rapidjson::Document ans;
        json::parse(ans, translated.data(), translated.size());
        const auto* choices = jv::get(ans, "choices");
        std::string text;
        if (choices && choices->IsArray() && !choices->Empty())
          if (const auto* m = jv::get((*choices)[0], "message")) text = std::string(jv::sv(*m, "content"));
        jv::add(out, "answer", text.substr(0, 500), a);
        out.AddMember("prompt_tokens", t.usage().prompt_tokens, a);
        out.AddMember("completion_tokens", t.usage().completion_tokens, a);
        ok = true;
      } else {
        Value e(rapidjson::kObjectType);
        jv::add(e, "class", "malformed", a);
        jv::add(e, "message", "the vendor answered 2xx with a body that is not a valid answer", a);
        out.AddMember("error", e, a);
      }
    } else {
      Value e(rapidjson::kObjectType);
      if (res.status == 0) {
        jv::add(e, "class", res.error.rfind("blocked:", 0) == 0 ? "blocked" : "connect", a);
        jv::add(e, "message", res.error, a);
      } else {
        auto cls = failover::SignatureTable::builtin().classify(res.status, res.body, res.headers, p.vendor, epoch_ms());
        jv::add(e, "class", failover::class_name(cls.cls), a);
        jv::add(e, "message", cls.message.empty() ? cls.note : cls.message, a);
        if (cls.retry_after_ms >= 0) e.AddMember("retry_after_ms", cls.retry_after_ms, a);
      }
      out.AddMember("error", e, a);
    }
    out.AddMember("ok", ok, a);
    // The vendor's model list, where it has one (a failure here is only reported, not fatal).
    if (res.status != 0) {
      std::vector<std::string> list_headers{"Accept: application/json"};
      if (!key.empty()) list_headers.push_back(translate::auth_header(p.dialect, key));
      if (p.dialect == "anthropic") list_headers.push_back("anthropic-version: 2023-06-01");
      OutboundResult lr = outbound.request("GET", p.base_url + "/models", "", list_headers, p.proxy, 10000);
      if (lr.status >= 200 && lr.status < 300) {
        Value ids(rapidjson::kArrayType);
        for (const auto& id : model_ids(lr.body)) ids.PushBack(jv::str(id, a), a);
        out.AddMember("vendor_models", ids, a);
      }
    }
    return ok_json(out);
  });
}

}  // namespace lingmo::cp
