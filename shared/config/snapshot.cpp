#include "config/snapshot.h"

#include <algorithm>

#include "config/schema.h"

namespace lingmo::config {

std::shared_ptr<const ConfigSet> Snapshot::build_config(int64_t version, const RawHash& providers,
                                                        const RawHash& keys, const crypto::SecretKey* secret,
                                                        const RawHash& settings) {
  auto set = std::make_shared<ConfigSet>();
  set->version = version;
  set->settings = schema::settings_from_hash(settings, &set->warnings);
  for (const auto& [field, json] : providers) {
    auto p = schema::provider_from_json(json);
    if (!p) {
      set->warnings.push_back("provider \"" + field + "\" ignored: " + p.error());
      continue;
    }
    RuntimeProvider rp;
    rp.cfg = std::move(p.value());
    rp.fingerprint = crypto::sha256_hex(json).substr(0, 16);
    for (const auto& q : rp.cfg.quotas) {
      auto z = quota::TimeZone::cached(q.tz);
      if (!z) {
        rp.load_error = "quota time zone: " + z.error();
        break;
      }
      rp.zones.push_back(z.value());
    }
    if (!rp.cfg.api_key_sealed.empty()) {
      if (!secret) {
        rp.load_error = "no secret key configured to decrypt its API key";
      } else if (auto key = secret->decrypt(rp.cfg.api_key_sealed, rp.cfg.id); key) {
        rp.api_key = std::move(key.value());
      } else {
        rp.load_error = "API key cannot be decrypted: " + key.error();
      }
    }
    if (!rp.load_error.empty()) set->warnings.push_back("provider \"" + rp.cfg.id + "\" unusable: " + rp.load_error);
    set->providers.push_back(std::move(rp));
  }
  std::stable_sort(set->providers.begin(), set->providers.end(), [](const auto& a, const auto& b) {
    return a.cfg.priority != b.cfg.priority ? a.cfg.priority < b.cfg.priority : a.cfg.id < b.cfg.id;
  });
  for (const auto& [hash, json] : keys) {
    auto k = schema::gateway_key_from_json(hash, json);
    if (!k) {
      set->warnings.push_back("gateway key " + hash.substr(0, 8) + " ignored: " + k.error());
      continue;
    }
    set->keys_by_hash.emplace(hash, std::move(k.value()));
  }
  return set;
}

std::map<std::string, ProviderState> Snapshot::parse_states(const RawHash& states) {
  std::map<std::string, ProviderState> out;
  for (const auto& [id, json] : states)
    if (auto s = schema::state_from_json(json); s) out.emplace(id, std::move(s.value()));
  return out;
}

const ProviderState* Snapshot::state(const std::string& provider_id) const {
  auto it = states_.find(provider_id);
  return it == states_.end() ? nullptr : &it->second;
}

const GatewayKey* Snapshot::find_key(std::string_view secret) const {
  if (secret.empty()) return nullptr;
  auto it = config_->keys_by_hash.find(crypto::sha256_hex(secret));
  return it == config_->keys_by_hash.end() ? nullptr : &it->second;
}

}  // namespace lingmo::config
