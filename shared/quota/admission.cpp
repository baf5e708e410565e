#include "quota/admission.h"

namespace lingmo::quota {

const char* const kAdmitScript =
    "local per = 8\n"
    "for i = 1, #KEYS do\n"
    "  local b = (i - 1) * per\n"
    "  local field, cap = ARGV[b + 1], tonumber(ARGV[b + 2])\n"
    "  local inc = 0\n"
    "  if field == 'requests' then inc = tonumber(ARGV[b + 3])\n"
    "  elseif field == 'prompt_tokens' then inc = tonumber(ARGV[b + 4])\n"
    "  elseif field == 'completion_tokens' then inc = tonumber(ARGV[b + 5])\n"
    "  elseif field == 'cost_micros' then inc = tonumber(ARGV[b + 7])\n"
    "  else inc = tonumber(ARGV[b + 6]) end\n"
    "  local cur = tonumber(redis.call('HGET', KEYS[i], field) or '0')\n"
    "  if cur >= cap or cur + inc > cap then return i end\n"
    "end\n"
    "for i = 1, #KEYS do\n"
    "  local b = (i - 1) * per\n"
    "  redis.call('HINCRBY', KEYS[i], 'requests', ARGV[b + 3])\n"
    "  redis.call('HINCRBY', KEYS[i], 'prompt_tokens', ARGV[b + 4])\n"
    "  redis.call('HINCRBY', KEYS[i], 'completion_tokens', ARGV[b + 5])\n"
    "  redis.call('HINCRBY', KEYS[i], 'total_tokens', ARGV[b + 6])\n"
    "  redis.call('HINCRBY', KEYS[i], 'cost_micros', ARGV[b + 7])\n"
    "  local ttl = tonumber(ARGV[b + 8])\n"
    "  if ttl > 0 and redis.call('TTL', KEYS[i]) < 0 then redis.call('EXPIRE', KEYS[i], ttl) end\n"
    "end\n"
    "return 0\n";

Plan plan(const config::RuntimeProvider& p, std::string_view client_model, const Cost& estimate, int64_t now_ms,
          double global_threshold) {
  Plan out;
  out.estimate = estimate;
  out.estimate.cost_micros = p.cfg.cost_micros(estimate.prompt_tokens, estimate.completion_tokens);
  double threshold = p.cfg.threshold > 0 ? p.cfg.threshold : global_threshold;
  for (size_t i = 0; i < p.cfg.quotas.size() && i < p.zones.size(); ++i) {
    const Rule& r = p.cfg.quotas[i];
    if (!r.model.empty() && r.model != client_model) continue;
    Rule::Span span = r.span(now_ms / 1000, *p.zones[i]);
    PlanItem it;
    it.key = counter_key(p.cfg.id, i, span.id);
    it.metric = counter_field(r.metric);
    it.cap = cap(r.limit, threshold);
    it.window_end_ms = r.window == Window::kOneOff ? 0 : span.end_s * 1000;
    it.ttl_s = r.window == Window::kOneOff ? 0 : span.end_s - now_ms / 1000 + 3600;  // kept an hour past the end
    it.describe = r.describe();
    out.items.push_back(std::move(it));
  }
  return out;
}

Plan key_plan(const config::GatewayKey& k, const Cost& estimate, int64_t now_ms) {
  Plan out;
  out.estimate = estimate;
  out.estimate.cost_micros = 0;
  for (size_t i = 0; i < k.budgets.size(); ++i) {
    const Rule& r = k.budgets[i];
    auto zone = TimeZone::cached(r.tz);  // checked when the key was saved; a bad one counts in UTC
    if (!zone) zone = TimeZone::cached("UTC");
    if (!zone) continue;
    Rule::Span span = r.span(now_ms / 1000, *zone.value());
    PlanItem it;
    it.key = key_budget_key(k.id, i, span.id);
    it.metric = counter_field(r.metric);
    it.cap = r.limit;
    it.window_end_ms = r.window == Window::kOneOff ? 0 : span.end_s * 1000;
    it.ttl_s = r.window == Window::kOneOff ? 0 : span.end_s - now_ms / 1000 + 3600;
    it.describe = r.describe();
    out.items.push_back(std::move(it));
  }
  return out;
}

std::vector<std::string> admit_args(const Plan& plan) {
  std::vector<std::string> a{"EVAL", kAdmitScript, std::to_string(plan.items.size())};
  for (const auto& it : plan.items) a.push_back(it.key);
  const Cost& e = plan.estimate;
  for (const auto& it : plan.items) {
    a.push_back(it.metric);
    a.push_back(std::to_string(it.cap));
    for (int64_t v : {e.requests, e.prompt_tokens, e.completion_tokens, e.total_tokens, e.cost_micros})
      a.push_back(std::to_string(v));
    a.push_back(std::to_string(it.ttl_s));
  }
  return a;
}

Cost estimate_chat(size_t body_bytes, int64_t max_tokens, int64_t default_completion) {
  Cost c;
  c.requests = 1;
  c.prompt_tokens = static_cast<int64_t>(body_bytes / 4);
  c.completion_tokens = max_tokens > 0 ? max_tokens : default_completion;
  c.total_tokens = c.prompt_tokens + c.completion_tokens;
  return c;
}

Cost correction(const Cost& est, const Cost& actual, bool delivered) {
  Cost d;
  if (!delivered) {
    d.requests = -est.requests;
    d.prompt_tokens = -est.prompt_tokens;
    d.completion_tokens = -est.completion_tokens;
    d.total_tokens = -est.total_tokens;
    d.cost_micros = -est.cost_micros;
    return d;
  }
  d.requests = 0;
  d.prompt_tokens = actual.prompt_tokens - est.prompt_tokens;
  d.completion_tokens = actual.completion_tokens - est.completion_tokens;
  d.total_tokens = actual.total_tokens - est.total_tokens;
  d.cost_micros = actual.cost_micros - est.cost_micros;
  return d;
}

}  // namespace lingmo::quota
