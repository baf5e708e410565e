#include "routing/router.h"

#include <algorithm>
#include <set>

namespace lingmo::routing {

bool key_allows(const config::GatewayKey& key, std::string_view model) {
  return key.models.empty() || std::find(key.models.begin(), key.models.end(), model) != key.models.end();
}

namespace {

// Why a provider cannot take traffic right now, or empty if it can.
std::string unusable_reason(const config::Snapshot& snap, const config::RuntimeProvider& p, int64_t now_ms) {
  if (!p.cfg.enabled) return "disabled";
  if (!p.load_error.empty()) return p.load_error;
  if (const auto* st = snap.state(p.cfg.id); st && st->unusable_until_ms > now_ms)
    return "unusable until " + std::to_string(st->unusable_until_ms) + (st->reason.empty() ? "" : " (" + st->reason + ")");
  return {};
}

const config::ModelMapping* find_model(const config::Provider& p, std::string_view model) {
  if (model == kAutoModel) return p.models.empty() ? nullptr : &p.models.front();
  for (const auto& m : p.models)
    if (m.name == model) return &m;
  return nullptr;
}

}  // namespace

Route route(const config::Snapshot& snap, std::string_view model, const config::GatewayKey& key, int64_t now_ms) {
  Route r;
  if (!key_allows(key, model)) {
    r.model_allowed = false;
    return r;
  }
  for (const auto& p : snap.providers()) {
    const config::ModelMapping* m = find_model(p.cfg, model);
    if (!m) continue;
    // With "auto" the key's allowlist still applies to the concrete model chosen.
    if (model == kAutoModel && !key.models.empty() && !key_allows(key, m->name)) continue;
    r.model_known = true;
    if (std::string why = unusable_reason(snap, p, now_ms); !why.empty()) {
      r.skipped.push_back({p.cfg.id, std::move(why)});
      continue;
    }
    r.candidates.push_back({&p, m->upstream});
  }
  return r;
}

std::vector<std::string> list_models(const config::Snapshot& snap, const config::GatewayKey& key) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& p : snap.providers()) {
    if (!p.cfg.enabled) continue;
    for (const auto& m : p.cfg.models)
      if (key_allows(key, m.name) && seen.insert(m.name).second) out.push_back(m.name);
  }
  if (!out.empty() && key_allows(key, kAutoModel)) out.insert(out.begin(), std::string(kAutoModel));
  return out;
}

}  // namespace lingmo::routing
