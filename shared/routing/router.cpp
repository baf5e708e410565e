#include "routing/router.h"

#include <algorithm>
#include <climits>
#include <optional>
#include <set>

namespace lingmo::routing {

bool key_allows(const config::GatewayKey& key, std::string_view model) {
  return key.models.empty() || std::find(key.models.begin(), key.models.end(), model) != key.models.end();
}

namespace {

bool in_force(const config::ProviderState* st, const config::RuntimeProvider& p, int64_t now_ms) {
  return st && st->unusable_until_ms > now_ms && (st->fingerprint.empty() || st->fingerprint == p.fingerprint);
}

// Why a provider cannot take traffic right now (words + code), or nullopt if it can.
std::optional<Skip> unusable(const config::Snapshot& snap, const StateOverlay* overlay, const config::RuntimeProvider& p,
                             int64_t now_ms) {
  if (!p.cfg.enabled) return Skip{p.cfg.id, "disabled", "disabled"};
  if (!p.load_error.empty()) return Skip{p.cfg.id, p.load_error, "key_error"};
  if (const auto* st = effective_state(snap, overlay, p, now_ms)) {
    std::string kind = st->kind.empty() ? "admin" : st->kind;
    std::string words = "parked (" + kind + ") for " + std::to_string((st->unusable_until_ms - now_ms + 999) / 1000) + " s";
    if (!st->reason.empty()) words += ": " + st->reason;
    return Skip{p.cfg.id, words, "parked:" + kind, st->unusable_until_ms};
  }
  return std::nullopt;
}

const config::ModelMapping* find_model(const config::Provider& p, std::string_view model) {
  if (model == kAutoModel) return p.models.empty() ? nullptr : &p.models.front();
  for (const auto& m : p.models)
    if (m.name == model) return &m;
  return nullptr;
}

}  // namespace

const config::ProviderState* effective_state(const config::Snapshot& snap, const StateOverlay* overlay,
                                             const config::RuntimeProvider& p, int64_t now_ms) {
  const config::ProviderState* a = snap.state(p.cfg.id);
  const config::ProviderState* b = nullptr;
  if (overlay)
    if (auto it = overlay->find(p.cfg.id); it != overlay->end()) b = &it->second;
  if (!in_force(a, p, now_ms)) a = nullptr;
  if (!in_force(b, p, now_ms)) b = nullptr;
  if (a && b) return a->unusable_until_ms >= b->unusable_until_ms ? a : b;
  return a ? a : b;
}

Route route(const config::Snapshot& snap, std::string_view model, const config::GatewayKey& key, int64_t now_ms,
            const StateOverlay* overlay) {
  Route r;
  if (!key_allows(key, model)) {
    r.model_allowed = false;
    return r;
  }
  const config::Settings& settings = snap.config().settings;
  for (const auto& p : snap.providers()) {
    const config::ModelMapping* m = find_model(p.cfg, model);
    if (!m) continue;
    // With "auto" the key's allowlist still applies to the concrete model chosen.
    if (model == kAutoModel && !key.models.empty() && !key_allows(key, m->name)) continue;
    r.model_known = true;
    // Auto-switch off: parks are not acted on; only an administrator's "disabled" counts.
    auto skip = settings.auto_switch ? unusable(snap, overlay, p, now_ms) : unusable(snap, nullptr, p, INT64_MAX);
    if (skip) {
      r.skipped.push_back(std::move(*skip));
      continue;
    }
    r.candidates.push_back({&p, m->upstream});
  }
  // A pinned provider goes first when it can serve the request.
  if (!settings.pin.empty()) {
    auto pinned = std::find_if(r.candidates.begin(), r.candidates.end(),
                               [&](const Candidate& c) { return c.provider->cfg.id == settings.pin; });
    if (pinned != r.candidates.end()) std::rotate(r.candidates.begin(), pinned, pinned + 1);
  }
  // Auto-switch off: no switching at all — the first candidate answers or fails.
  if (!settings.auto_switch && r.candidates.size() > 1) r.candidates.resize(1);
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
