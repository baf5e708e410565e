// Snapshot: a worker's immutable, in-memory view of the configuration (ARCHITECTURE decision 2:
// the hot path reads memory, not Redis). Built from the raw Redis hashes; vendor keys are
// decrypted once here and live only in memory. A new snapshot replaces the old one atomically
// (shared_ptr), and a request keeps the snapshot it started with until it ends.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "crypto/crypto.h"

namespace lingmo::config {

using RawHash = std::map<std::string, std::string>;  // field -> value, as HGETALL returns it

struct RuntimeProvider {
  Provider cfg;
  std::string api_key;     // decrypted; never logged
  std::string load_error;  // non-empty: the provider cannot be used (e.g. key does not decrypt)
  std::string fingerprint; // SHA-256 prefix of the stored provider JSON: changes whenever it is edited
  std::vector<std::shared_ptr<const quota::TimeZone>> zones;  // one per cfg.quotas rule
};

// Providers and keys: changes only when lingmo:config:version changes.
struct ConfigSet {
  int64_t version = -1;
  std::vector<RuntimeProvider> providers;  // sorted by (priority, id)
  std::unordered_map<std::string, GatewayKey> keys_by_hash;
  Settings settings;
  std::vector<std::string> warnings;       // e.g. provider JSON that did not parse; safe to log
};

class Snapshot {
 public:
  // `secret` may be null when no secret key is configured: providers with a sealed key then
  // carry a load_error; key-less providers still work.
  static std::shared_ptr<const ConfigSet> build_config(int64_t version, const RawHash& providers,
                                                       const RawHash& keys, const crypto::SecretKey* secret,
                                                       const RawHash& settings = {});
  static std::map<std::string, ProviderState> parse_states(const RawHash& states);

  Snapshot(std::shared_ptr<const ConfigSet> config, std::map<std::string, ProviderState> states)
      : config_(std::move(config)), states_(std::move(states)) {}

  const ConfigSet& config() const { return *config_; }
  const std::shared_ptr<const ConfigSet>& config_ptr() const { return config_; }
  const std::vector<RuntimeProvider>& providers() const { return config_->providers; }
  const ProviderState* state(const std::string& provider_id) const;

  // Looks a bearer token up by its SHA-256. Null when unknown.
  const GatewayKey* find_key(std::string_view secret) const;

 private:
  std::shared_ptr<const ConfigSet> config_;
  std::map<std::string, ProviderState> states_;
};

}  // namespace lingmo::config
