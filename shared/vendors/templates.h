// Vendor templates: the 25+ vendors LingMo knows, as data (vendors/templates.json, compiled in;
// docs/VENDORS.md). A template prefills a provider — base URL, dialect, auth form, headers,
// example models, parameter quirks — and documents the vendor's free tier (as quota rule specs,
// marked as documented or not), its error signatures and its balance API for the control plane.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "util/result.h"

namespace lingmo::vendors {

struct Template {
  std::string id, name, base_url, dialect, auth;
  std::map<std::string, std::string> alt_base_urls, headers;
  std::vector<config::ModelMapping> models;
  std::vector<std::string> drop_params;
  std::map<std::string, std::string> rename_params;
  int64_t max_output_tokens = 0;
  bool replay_reasoning = false;
  bool responses_api = false;
  std::string quirk_notes;
  bool free_tier_documented = false;
  std::vector<std::string> free_tier_quotas;  // quota rule specs (quota/rules.h)
  std::string free_tier_note, free_tier_source;
  std::vector<std::string> error_signatures;
  std::string balance_kind, balance_url, balance_note;
};

class TemplateTable {
 public:
  static Result<TemplateTable> parse(std::string_view json);
  static const TemplateTable& builtin();

  const Template* find(std::string_view id) const;
  const std::vector<Template>& all() const { return templates_; }

 private:
  std::vector<Template> templates_;
};

// A provider prefilled from a template. Fields already set in `p` (base URL, models, headers)
// win; with `free_tier` the template's documented free-tier quota rules are added.
Result<config::Provider> apply(const Template& t, config::Provider p, bool free_tier);

}  // namespace lingmo::vendors
