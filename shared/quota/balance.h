// Vendor balance and plan-quota endpoints: what to ask (the request per kind of endpoint) and how
// to read the answer (a strict parser per kind). Pure: no I/O, no clock (the caller passes the
// time). The control plane's balance sync (controlplane/daemon/balance_sync.h) makes the calls.
//
// Strictness is the point: a field that is required and missing, of the wrong type, or an
// amount string that does not parse fully makes the reading an error. An unknown amount stays
// unknown (std::nullopt, percent -1): it is never read as zero, because a zero would park a
// healthy provider and a made-up positive value would hide an exhausted one.
//
// Wire shapes (docs: shared/reference/vendors.md §1.2; [doc] vendor docs, [obs] what public tools
// read, [?] unconfirmed):
//   deepseek     GET /user/balance            {"is_available":bool,"balance_infos":[{"currency","total_balance":"23.50",...}]} [doc]
//   moonshot     GET /v1/users/me/balance     {"code":0,"data":{"available_balance":n,"voucher_balance":n,"cash_balance":n}} [doc]
//   siliconflow  GET /v1/user/info            {"code":20000,"status":true,"data":{"totalBalance":"31.20","balance","chargeBalance"}} [doc]
//   openrouter   GET /api/v1/key              {"data":{"limit":n|null,"limit_remaining":n|null,"limit_reset":"monthly"|null,"usage":n,...}} [doc]
//   stepfun      GET /v1/accounts             {"balance":n,"total_cash_balance":n,"total_voucher_balance":n} [obs]
//   xai          GET /v1/api-key              {"api_key_blocked":bool,"api_key_disabled":bool,"team_blocked":bool,...} [doc]
//   zhipu        GET /api/monitor/usage/quota/limit   coding-plan windows [obs], see parse_zhipu
//   minimax      GET /v1/token_plan/remains   Token-Plan windows [obs], see parse_minimax
//   admin_usage  OpenAI GET /v1/organization/costs, Anthropic GET /v1/organizations/cost_report:
//                money spent this month, with an organization admin key [doc]
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lingmo::quota {

enum class BalanceKind {
  kNone,
  kDeepSeek,
  kMoonshot,
  kSiliconFlow,
  kOpenRouter,
  kStepFun,
  kXai,
  kZhipu,
  kMiniMax,
  kOpenAIAdmin,     // "admin_usage" on an OpenAI-dialect provider
  kAnthropicAdmin,  // "admin_usage" on an Anthropic-dialect provider
};

// The configuration names: none, deepseek, moonshot, siliconflow, openrouter, stepfun, xai, zhipu,
// minimax, admin_usage (OpenAI or Anthropic by the provider's dialect). nullopt: unknown name.
std::optional<BalanceKind> balance_kind_from_name(std::string_view name, std::string_view dialect);
const char* balance_kind_name(BalanceKind k);  // "admin_usage" for both admin kinds
inline bool needs_admin_key(BalanceKind k) { return k == BalanceKind::kOpenAIAdmin || k == BalanceKind::kAnthropicAdmin; }

// One plan window (coding-plan quota, key limit, free daily requests).
struct UsageWindow {
  std::string name;      // e.g. "TOKENS_LIMIT/5h", "MiniMax-M2/interval", "key_limit"
  double used = -1;      // -1: the vendor does not say
  double limit = -1;     // -1: the vendor does not say
  double percent = -1;   // share used, 0-100; -1: unknown (never parks)
  int64_t resets_ms = 0; // epoch ms of the next reset; 0: unknown
  bool gates = true;     // when full, the provider cannot serve chat (false: e.g. MCP tool calls, video)
};

struct BalanceReading {
  bool ok = false;
  std::string error;               // why not ok: "HTTP 401: ...", "unexpected shape: data.totalBalance missing", ...
  std::string currency;            // "CNY", "USD", ... ; "" when neither the vendor nor the host says
  std::optional<double> balance;   // money left (may be negative: owed); nullopt: the vendor does not say
  bool available = true;           // false: the vendor says (or its numbers say) the account cannot serve
  bool key_blocked = false;        // xAI: the key or its team is blocked/disabled
  std::vector<UsageWindow> windows;
  std::optional<double> spent;     // admin usage: money spent since the start of the month (UTC)
};

// What to send. The key is added by balance_headers(): the provider's inference key, or its
// admin key for the admin kinds.
struct BalanceRequest {
  std::string url;
  std::string host;  // of `url`, lower-case, without port (the currency guess)
};

// `base_url`: the provider's; the endpoint is on the same origin (scheme://host[:port]), so the
// key goes nowhere it does not already go. `url_override`: the full endpoint URL instead (the
// admin usage query is appended to it). `now_ms`: the admin kinds ask from the month's start.
BalanceRequest balance_request(BalanceKind k, std::string_view base_url, std::string_view url_override, int64_t now_ms);
// "Name: value" lines: authentication with `key` and what the endpoint wants besides.
std::vector<std::string> balance_headers(BalanceKind k, const std::string& key);

// The currency a vendor bills in when its answer does not say: by host (Moonshot .cn CNY / .ai
// USD, StepFun .com CNY / .ai USD, SiliconFlow .cn CNY, OpenRouter USD). "" when unknown.
std::string currency_for_host(BalanceKind k, std::string_view host);

// Reads an answer. `status` 0 is not an answer (the caller reports the transport error).
// `host`: for the currency guess. `now_ms`: resets given as durations or calendar periods.
BalanceReading parse_balance(BalanceKind k, long status, std::string_view body, std::string_view host, int64_t now_ms);

// A decimal amount: a JSON-style number text that parses completely ("23.50", "-1", "1e3"); no
// spaces, hex, inf or nan. False otherwise.
bool parse_amount(std::string_view s, double& out);

}  // namespace lingmo::quota
