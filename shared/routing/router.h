// Routing: a pure function from (requested model, caller's key, snapshot, now) to the ordered
// list of candidates to try, plus the reasons the others were skipped (for logs and errors).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/snapshot.h"

namespace lingmo::routing {

// "auto" means: every usable provider, each with its default (first) model, by priority.
inline constexpr std::string_view kAutoModel = "auto";

struct Candidate {
  const config::RuntimeProvider* provider;  // points into the snapshot the caller holds
  std::string upstream_model;
};

struct Skip {
  std::string provider_id;
  std::string reason;
};

struct Route {
  bool model_allowed = true;  // false: the key's allowlist excludes the model
  bool model_known = false;   // some provider (usable or not) serves this model
  std::vector<Candidate> candidates;
  std::vector<Skip> skipped;
};

Route route(const config::Snapshot& snap, std::string_view model, const config::GatewayKey& key, int64_t now_ms);

// Client model names the key may use, in a stable order ("auto" first when any exist).
std::vector<std::string> list_models(const config::Snapshot& snap, const config::GatewayKey& key);

bool key_allows(const config::GatewayKey& key, std::string_view model);

}  // namespace lingmo::routing
