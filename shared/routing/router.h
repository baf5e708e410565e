// Routing: a pure function from (requested model, caller's key, snapshot, now) to the ordered
// list of candidates to try, plus the reasons the others were skipped (for logs and errors).
#pragma once
#include <cstdint>
#include <map>
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
  std::string reason;  // words for logs and error messages
  std::string code;    // compact, for the X-LingMo-Skipped header: disabled, parked:quota, key_error, ...
  int64_t until_ms = 0;  // parked: when it becomes usable again (epoch ms); 0 = unknown
};

// State this worker observed itself and has not yet seen come back from Redis (it applies at once).
using StateOverlay = std::map<std::string, config::ProviderState>;

// The state in force for a provider: the later of the snapshot's and the overlay's, ignoring a
// state recorded against an older version of the provider's config (an edited key un-parks it).
const config::ProviderState* effective_state(const config::Snapshot& snap, const StateOverlay* overlay,
                                             const config::RuntimeProvider& p, int64_t now_ms);

struct Route {
  bool model_allowed = true;  // false: the key's allowlist excludes the model
  bool model_known = false;   // some provider (usable or not) serves this model
  std::vector<Candidate> candidates;
  std::vector<Skip> skipped;
};

Route route(const config::Snapshot& snap, std::string_view model, const config::GatewayKey& key, int64_t now_ms,
            const StateOverlay* overlay = nullptr);

// Client model names the key may use, in a stable order ("auto" first when any exist).
std::vector<std::string> list_models(const config::Snapshot& snap, const config::GatewayKey& key);

bool key_allows(const config::GatewayKey& key, std::string_view model);

}  // namespace lingmo::routing
