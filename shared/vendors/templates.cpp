#include "vendors/templates.h"

#include <rapidjson/document.h>

#include <stdexcept>

#include "quota/rules.h"
#include "util/json.h"

namespace lingmo::vendors {

extern const char* const kBuiltinTemplates;  // generated from vendors/templates.json

namespace {

std::vector<std::string> strings(const rapidjson::Value& obj, const char* key) {
  std::vector<std::string> out;
  if (!obj.IsObject()) return out;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray())
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  return out;
}

std::map<std::string, std::string> string_map(const rapidjson::Value& obj, const char* key) {
  std::map<std::string, std::string> out;
  if (!obj.IsObject()) return out;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsObject()) return out;
  for (const auto& m : it->value.GetObject())
    if (m.value.IsString()) out[m.name.GetString()] = m.value.GetString();
  return out;
}

const rapidjson::Value& member(const rapidjson::Value& obj, const char* key) {
  static const rapidjson::Value null_value;
  if (!obj.IsObject()) return null_value;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? null_value : it->value;
}

}  // namespace

Result<TemplateTable> TemplateTable::parse(std::string_view json) {
  using R = Result<TemplateTable>;
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("templates") || !d["templates"].IsArray())
    return R::fail("vendor templates: expected {\"templates\": [...]}");
  TemplateTable table;
  for (const auto& v : d["templates"].GetArray()) {
    Template t;
    t.id = json::get_string(v, "id");
    if (t.id.empty()) return R::fail("vendor templates: a template has no id");
    if (table.find(t.id)) return R::fail("vendor templates: duplicate id " + t.id);
    t.name = json::get_string(v, "name", t.id);
    t.base_url = json::get_string(v, "base_url");
    t.dialect = json::get_string(v, "dialect", "openai");
    t.auth = json::get_string(v, "auth", "bearer");
    if (t.dialect != "openai" && t.dialect != "anthropic" && t.dialect != "gemini")
      return R::fail("vendor template " + t.id + ": unknown dialect " + t.dialect);
    t.alt_base_urls = string_map(v, "alt_base_urls");
    t.headers = string_map(v, "headers");
    if (auto m = v.FindMember("models"); m != v.MemberEnd() && m->value.IsArray())
      for (const auto& model : m->value.GetArray()) {
        config::ModelMapping mm{json::get_string(model, "name"), json::get_string(model, "upstream")};
        if (mm.upstream.empty()) mm.upstream = mm.name;
        if (!mm.name.empty()) t.models.push_back(std::move(mm));
      }
    const auto& quirks = member(v, "quirks");
    t.drop_params = strings(quirks, "drop_params");
    t.rename_params = string_map(quirks, "rename_params");
    t.quirk_notes = json::get_string(quirks, "notes");
    t.max_output_tokens = json::get_int(quirks, "max_output_tokens", 0);
    t.replay_reasoning = json::get_bool(quirks, "replay_reasoning", false);
    t.responses_api = json::get_bool(quirks, "responses_api", false);
    const auto& free = member(v, "free_tier");
    t.free_tier_documented = json::get_bool(free, "documented", false);
    t.free_tier_quotas = strings(free, "quotas");
    for (const auto& q : t.free_tier_quotas)
      if (auto r = quota::parse_rule_spec(q); !r) return R::fail("vendor template " + t.id + ": " + r.error());
    t.free_tier_note = json::get_string(free, "note");
    t.free_tier_source = json::get_string(free, "source");
    t.error_signatures = strings(v, "error_signatures");
    const auto& bal = member(v, "balance_api");
    t.balance_kind = json::get_string(bal, "kind", "none");
    t.balance_url = json::get_string(bal, "url");
    t.balance_note = json::get_string(bal, "note");
    table.templates_.push_back(std::move(t));
  }
  return table;
}

const TemplateTable& TemplateTable::builtin() {
  static const TemplateTable table = [] {
    auto t = parse(kBuiltinTemplates);
    if (!t) throw std::runtime_error(t.error());  // a broken built-in table is a build defect
    return std::move(t.value());
  }();
  return table;
}

const Template* TemplateTable::find(std::string_view id) const {
  for (const auto& t : templates_)
    if (t.id == id) return &t;
  return nullptr;
}

Result<config::Provider> apply(const Template& t, config::Provider p, bool free_tier) {
  using R = Result<config::Provider>;
  if (p.vendor.empty()) p.vendor = t.id;
  if (p.name.empty() || p.name == p.id) p.name = t.name;
  p.dialect = t.dialect;
  if (p.base_url.empty()) p.base_url = t.base_url;
  if (p.base_url.find('{') != std::string::npos)
    return R::fail("vendor " + t.id + ": the base URL needs account data (" + p.base_url + "); pass --base-url");
  if (p.models.empty()) p.models = t.models;
  for (const auto& [k, v] : t.headers) p.headers.emplace(k, v);
  if (p.drop_params.empty()) p.drop_params = t.drop_params;
  if (p.rename_params.empty()) p.rename_params = t.rename_params;
  if (!p.max_output_tokens) p.max_output_tokens = t.max_output_tokens;
  if (!p.replay_reasoning) p.replay_reasoning = t.replay_reasoning;
  if (!p.responses_api) p.responses_api = t.responses_api;
  if (free_tier)
    for (const auto& spec : t.free_tier_quotas) p.quotas.push_back(quota::parse_rule_spec(spec).value());
  return p;
}

}  // namespace lingmo::vendors
