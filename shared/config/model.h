// The configuration domain shared by the data plane, the control plane and the admin CLI.
// Plain values; (de)serialisation and the Redis key names live in config/schema.h.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "quota/rules.h"

namespace lingmo::config {

// One model a provider serves: `name` is what clients ask for, `upstream` what the vendor calls it.
struct ModelMapping {
  std::string name;
  std::string upstream;
};

// Where the control plane reads a provider's balance or plan quota (controlplane/daemon/
// balance_sync.h; the data plane ignores it). Empty fields fall back to the vendor template.
struct BalanceConfig {
  std::string kind;              // quota/balance.h kind name; "" = the template's; "none" = no sync
  std::string url;               // full endpoint URL; "" = the provider's origin + the kind's path
  std::string admin_key_sealed;  // admin_usage: an admin key, sealed with "balance-admin:<id>" as associated data
  std::string currency;          // when the vendor's answer does not say (e.g. "CNY"); "" = guess by host
  bool empty() const { return kind.empty() && url.empty() && admin_key_sealed.empty() && currency.empty(); }
};

struct Provider {
  std::string id;                  // stable identifier, [A-Za-z0-9_.-]{1,64}; AES associated data
  std::string name;                // display name
  std::string vendor;              // vendor template id (e.g. "deepseek"); informational for now
  std::string dialect = "openai";  // wire dialect of the vendor's chat endpoint
  std::string base_url;            // e.g. https://api.deepseek.com/v1 (the chat path is appended)
  std::string api_key_sealed;      // "lmk1:..." AES-256-GCM; empty for key-less vendors (Ollama)
  std::string proxy;               // optional outbound proxy: http://, https://, socks5://, socks5h://
  int priority = 100;              // lower is tried first; ties broken by id
  bool enabled = true;
  std::vector<ModelMapping> models;  // the first one is the provider's default (used by "auto")
  std::map<std::string, std::string> headers;  // extra request headers the vendor wants
  std::vector<quota::Rule> quotas;             // free quota rules (quota/rules.h)
  std::vector<std::string> drop_params;        // request fields this vendor rejects (template quirks)
  std::map<std::string, std::string> rename_params;  // request fields it calls otherwise
  int64_t max_output_tokens = 0;               // the vendor's output ceiling: larger asks are clamped; 0 = none
  bool replay_reasoning = false;               // the vendor wants earlier reasoning_content sent back (DeepSeek)
  bool responses_api = false;                  // the vendor serves POST /responses itself: Responses clients pass through
  double threshold = 0;                        // share of a quota at which to switch; 0 = global
  double price_input = 0;                      // currency units per 1M prompt tokens (cost quotas)
  double price_output = 0;                     // currency units per 1M completion tokens
  BalanceConfig balance;                       // balance sync (control plane only)

  // Money for a number of tokens, in millionths of the currency (price per 1M tokens x tokens).
  int64_t cost_micros(int64_t prompt_tokens, int64_t completion_tokens) const {
    return static_cast<int64_t>(static_cast<double>(prompt_tokens) * price_input +
                                static_cast<double>(completion_tokens) * price_output + 0.5);
  }
};

// System settings (lingmo:settings), written by the admin side.
struct Settings {
  double threshold = 0.99;  // global switch threshold
  bool auto_switch = true;  // off: always the first candidate, no failover, quotas not enforced
  std::string pin;          // a provider id that takes all traffic it can serve
  std::vector<double> warn_levels{0.8, 0.95};  // shares of a quota that raise alerts (control plane)
  std::string gateway_url;  // how clients reach the gateway (the console's agent set-ups); "" = unknown
};

// A client credential. Only the SHA-256 of the secret is stored.
struct GatewayKey {
  std::string hash;                 // hex SHA-256 of the secret; the Redis hash field
  std::string id;                   // short public id, safe to log
  std::string name;
  std::vector<std::string> models;  // allowlist of client model names; empty = all
  bool enabled = true;
  // Spending limits of this key (quota/rules.h; "model" unused): a request is refused once a
  // budget's window is used up. Cost is counted at the serving provider's prices.
  std::vector<quota::Rule> budgets;
};

// Observed state written by the data plane (and, for now, the admin CLI): a provider may be
// parked until a time, e.g. after the vendor said its quota is exhausted.
struct ProviderState {
  int64_t unusable_until_ms = 0;  // epoch milliseconds; 0 = usable
  std::string reason;             // human words: the vendor's message, "parked by admin", ...
  std::string kind;               // quota | rate_limited | auth | admin | ratelimit_headers
  std::string fingerprint;        // set: the state only holds while the provider's config is unchanged
};

// A circuit breaker that opened in some worker (lingmo:circuits): for the control plane only.
struct CircuitNote {
  int64_t since_ms = 0;       // when it opened
  int64_t open_until_ms = 0;  // when that worker lets a trial request through
  std::string cause;          // the failure that opened it (failover::failure_name)
  int64_t pid = 0;            // the nginx worker
};

}  // namespace lingmo::config
