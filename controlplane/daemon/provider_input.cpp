#include "provider_input.h"

#include <algorithm>
#include <cctype>

#include "config/schema.h"
#include "quota/balance.h"
#include "quota/rules.h"
#include "translate/jsonv.h"
#include "util/json.h"
#include "vendors/templates.h"

namespace lingmo::cp {

namespace jv = translate::jv;
using rapidjson::Value;

namespace {

// "balance": {"kind","url","currency","admin_key"} on top of the provider's current balance
// settings (an update may change one field; "" clears one). The admin key arrives in plain text
// and is sealed here, with associated data of its own so it cannot pass for the inference key.
Result<config::BalanceConfig> balance_from_body(App& app, const Value& b, const config::Provider& p) {
  using R = Result<config::BalanceConfig>;
  if (!b.IsObject()) return R::fail("balance must be an object");
  config::BalanceConfig bc = p.balance;
  for (const auto& m : b.GetObject()) {
    std::string k(m.name.GetString(), m.name.GetStringLength());
    if (k != "kind" && k != "url" && k != "currency" && k != "admin_key") return R::fail("unknown field \"balance." + k + "\"");
    if (!m.value.IsString()) return R::fail("balance." + k + " must be a string");
    std::string v(m.value.GetString(), m.value.GetStringLength());
    if (k == "kind") bc.kind = v;
    else if (k == "url") bc.url = v;
    else if (k == "currency") bc.currency = v;
    else bc.admin_key_sealed = v.empty() ? std::string() : app.secret.encrypt(v, "balance-admin:" + p.id);
  }
  if (!bc.kind.empty() && !quota::balance_kind_from_name(bc.kind, p.dialect))
    return R::fail("balance.kind \"" + bc.kind + "\" is unknown (none, deepseek, moonshot, siliconflow, openrouter, stepfun, xai, zhipu, "
                   "minimax, admin_usage)");
  if (!bc.url.empty() && bc.url.rfind("http://", 0) != 0 && bc.url.rfind("https://", 0) != 0)
    return R::fail("balance.url must start with http:// or https://");
  for (char& c : bc.currency) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!bc.currency.empty() && (bc.currency.size() != 3 || !std::all_of(bc.currency.begin(), bc.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })))
    return R::fail("balance.currency must be a three-letter code such as CNY or USD");
  if (bc.kind == "admin_usage" && bc.admin_key_sealed.empty())
    return R::fail("balance.kind admin_usage reads the organization's usage API: it needs balance.admin_key (an admin key, not the inference key)");
  return bc;
}

}  // namespace

// Builds a provider from an API body: on top of `existing` for updates. The body uses the stored
// field names (docs/API.md) plus "api_key" (plain text, sealed here), "template" and
// "free_tier"; "models" may be ["name", "name=upstream", {"name","upstream"}] and "quotas" rule
// specs ("requests/day=1500@America/Los_Angeles") or objects.
Result<config::Provider> provider_from_body(App& app, const Value& body, const config::Provider* existing) {
  using R = Result<config::Provider>;
  rapidjson::Document doc;
  if (existing) doc.Parse(schema::to_json(*existing).c_str());
  else doc.SetObject();
  auto& a = doc.GetAllocator();
  static const char* kSpecial[] = {"api_key", "template", "free_tier", "models", "quotas", "api_key_sealed", "balance"};
  // The stored fields a body may set, with their JSON types: a wrong type is an error, never a
  // silent default (an "enabled": "false" must not enable a provider).
  enum Kind { kString, kBool, kInt, kNumber, kObject, kArray };
  static const std::pair<const char*, Kind> kFields[] = {
      {"id", kString},       {"name", kString},          {"vendor", kString},           {"dialect", kString},
      {"base_url", kString}, {"proxy", kString},         {"priority", kInt},            {"enabled", kBool},
      {"headers", kObject},  {"drop_params", kArray},    {"rename_params", kObject},    {"threshold", kNumber},
      {"prices", kObject},   {"max_output_tokens", kInt}, {"replay_reasoning", kBool},  {"responses_api", kBool}};
  for (const auto& m : body.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (std::any_of(std::begin(kSpecial), std::end(kSpecial), [&](const char* s) { return k == s; })) continue;
    auto f = std::find_if(std::begin(kFields), std::end(kFields), [&](const auto& x) { return k == x.first; });
    if (f == std::end(kFields)) return R::fail("unknown field \"" + std::string(k) + "\"");
    const Value& v = m.value;
    if (v.IsNull() && k == "threshold") {  // back to the global threshold (docs/API.md)
      doc.RemoveMember("threshold");
      continue;
    }
    bool ok = f->second == kString ? v.IsString() : f->second == kBool ? v.IsBool() : f->second == kInt ? v.IsInt64()
              : f->second == kNumber ? v.IsNumber() : f->second == kObject ? v.IsObject() : v.IsArray();
    if (!ok) {
      static const char* kNames[] = {"a string", "true or false", "a whole number", "a number", "an object", "an array"};
      return R::fail(std::string(k) + " must be " + kNames[f->second]);
    }
    doc.RemoveMember(m.name.GetString());
    doc.AddMember(Value(m.name, a), Value(m.value, a), a);
  }
  if (const Value* models = jv::get(body, "models")) {
    if (!models->IsArray()) return R::fail("models must be an array");
    Value list(rapidjson::kArrayType);
    for (const auto& m : models->GetArray()) {
      Value o(rapidjson::kObjectType);
      if (m.IsString()) {
        std::string s = m.GetString();
        size_t eq = s.find('=');
        jv::add(o, "name", eq == std::string::npos ? s : s.substr(0, eq), a);
        jv::add(o, "upstream", eq == std::string::npos ? s : s.substr(eq + 1), a);
      } else if (m.IsObject()) {
        o.CopyFrom(m, a);
      } else {
        return R::fail("each model is a string or an object");
      }
      list.PushBack(o, a);
    }
    doc.RemoveMember("models");
    doc.AddMember("models", list, a);
  }
  const vendors::Template* tmpl = nullptr;
  if (std::string t = json::get_string(body, "template"); !t.empty()) {
    tmpl = vendors::TemplateTable::builtin().find(t);
    if (!tmpl) return R::fail("no vendor template \"" + t + "\" (GET /api/templates)");
    if (!doc.HasMember("base_url")) jv::add(doc, "base_url", tmpl->base_url.find('{') == std::string::npos ? tmpl->base_url : std::string("http://placeholder"), a);
  }
  if (tmpl && !doc.HasMember("models")) doc.AddMember("models", Value(rapidjson::kArrayType), a);
  auto parsed = schema::provider_from_json(jv::stringify(doc));
  if (!parsed) return parsed;
  config::Provider p = std::move(parsed.value());
  if (const Value* quotas = jv::get(body, "quotas")) {
    if (!quotas->IsArray()) return R::fail("quotas must be an array");
    p.quotas.clear();
    for (const auto& q : quotas->GetArray()) {
      if (q.IsString()) {
        auto rule = quota::parse_rule_spec(q.GetString());
        if (!rule) return R::fail("quota \"" + std::string(q.GetString()) + "\": " + rule.error());
        p.quotas.push_back(rule.value());
      } else {
        rapidjson::Document one(rapidjson::kObjectType);
        jv::add(one, "id", "q", one.GetAllocator());
        jv::add(one, "base_url", "http://q", one.GetAllocator());
        Value arr(rapidjson::kArrayType);
        arr.PushBack(Value(q, one.GetAllocator()), one.GetAllocator());
        one.AddMember("quotas", arr, one.GetAllocator());
        auto rp = schema::provider_from_json(jv::stringify(one));
        if (!rp || rp.value().quotas.empty()) return R::fail(rp ? "a quota object is incomplete" : rp.error());
        p.quotas.push_back(rp.value().quotas[0]);
      }
    }
  }
  if (tmpl) {
    if (!body.HasMember("base_url")) p.base_url.clear();
    std::string dialect = p.dialect;
    auto applied = vendors::apply(*tmpl, p, json::get_bool(body, "free_tier", false));
    if (!applied) return applied;
    p = std::move(applied.value());
    if (body.HasMember("dialect")) p.dialect = dialect;
  }
  if (const Value* key = jv::get(body, "api_key")) {
    if (!key->IsString()) return R::fail("api_key must be a string");
    p.api_key_sealed = key->GetStringLength() ? app.secret.encrypt(jv::sv(key), p.id) : std::string();
  }
  if (const Value* b = jv::get(body, "balance")) {
    auto bc = balance_from_body(app, *b, p);
    if (!bc) return R::fail(bc.error());
    p.balance = std::move(bc.value());
  }
  if (p.models.empty()) return R::fail("a provider needs at least one model");
  // The same validation the data plane applies when it loads the configuration.
  auto check = schema::provider_from_json(schema::to_json(p));
  if (!check) return check;
  return p;
}

}  // namespace lingmo::cp
