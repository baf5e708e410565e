// The Redis key schema — defined here once, used by the module, the CLI and the control plane.
// docs/KEY_SCHEMA.md documents it; keep the two in step.
//
//   lingmo:providers           HASH  provider id      -> provider JSON (api key sealed)
//   lingmo:gateway_keys        HASH  sha256(secret)   -> gateway key JSON
//   lingmo:provider_state      HASH  provider id      -> state JSON {unusable_until_ms, reason}
//   lingmo:config:version      STRING integer, INCR'd after every config write
//   lingmo:events              PUB/SUB channel; a message means "reload config now"
//   lingmo:usage:{id}:{day}    HASH  requests, prompt_tokens, completion_tokens, total_tokens, failures
//   lingmo:usage:batch:{batch} STRING marker making a usage batch idempotent (expires after 2 days)
#pragma once
#include <map>
#include <string>
#include <vector>
#include <string_view>

#include "config/model.h"
#include "util/result.h"

namespace lingmo::schema {

inline constexpr const char* kProviders = "lingmo:providers";
inline constexpr const char* kGatewayKeys = "lingmo:gateway_keys";
inline constexpr const char* kProviderState = "lingmo:provider_state";
inline constexpr const char* kConfigVersion = "lingmo:config:version";
inline constexpr const char* kSettings = "lingmo:settings";
inline constexpr const char* kEventsChannel = "lingmo:events";
inline constexpr const char* kCircuits = "lingmo:circuits";  // provider id -> CircuitNote JSON
// A lingmo:events message "clear:<id>" (or "clear:*") also resets the workers' in-memory standing
// of that provider (circuit breaker, not-yet-confirmed parks) — the operator's "it is fixed now".
inline constexpr const char* kClearPrefix = "clear:";

// KEYS[1] = lingmo:provider_state, ARGV = provider id, state JSON, its unusable_until_ms.
// Writes the state unless a park that lasts longer is already recorded (several workers and nodes
// may report the same provider at once: the longest park wins). Returns 1 if written.
extern const char* const kSetStateScript;

std::string usage_key(std::string_view provider_id, std::string_view day);
std::string usage_batch_key(std::string_view batch_id);

bool valid_id(std::string_view id);

std::string to_json(const config::Provider& p);
Result<config::Provider> provider_from_json(std::string_view json);
std::string to_json(const config::GatewayKey& k);
Result<config::GatewayKey> gateway_key_from_json(std::string_view hash, std::string_view json);
config::Settings settings_from_hash(const std::map<std::string, std::string>& h, std::vector<std::string>* warnings);
std::string to_json(const config::ProviderState& s);
Result<config::ProviderState> state_from_json(std::string_view json);
std::string to_json(const config::CircuitNote& n);
Result<config::CircuitNote> circuit_from_json(std::string_view json);
// Per provider and UTC hour ("YYYY-MM-DDTHH"), kept 8 days: the console's usage charts.
std::string hourly_usage_key(std::string_view provider_id, std::string_view hour);
inline constexpr int64_t kHourlyUsageTtlS = 8 * 24 * 3600;
// Per gateway key and UTC day: the same counters as lingmo:usage:<provider>:<day>.
std::string key_usage_key(std::string_view key_id, std::string_view day);

}  // namespace lingmo::schema
