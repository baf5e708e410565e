// Anthropic usage as it arrives: message_start carries the input counts, message_delta the
// output count (cumulative) and, in newer API versions, the input counts again. Read both
// into the gateway's Usage (prompt = uncached + cache writes + cache reads).
#pragma once
#include <cstdint>

#include "translate/api.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

class AnthropicUsage {
 public:
  void read(const rapidjson::Value& u, Usage& out) {
    if (!u.IsObject()) return;
    input_ = jv::int_or(u, "input_tokens", input_);
    cache_write_ = jv::int_or(u, "cache_creation_input_tokens", cache_write_);
    cache_read_ = jv::int_or(u, "cache_read_input_tokens", cache_read_);
    out.completion_tokens = jv::int_or(u, "output_tokens", out.completion_tokens);
    out.present = true;
    out.prompt_tokens = input_ + cache_write_ + cache_read_;
    out.cached_tokens = cache_read_;
    out.total_tokens = out.prompt_tokens + out.completion_tokens;
  }

 private:
  int64_t input_ = 0, cache_write_ = 0, cache_read_ = 0;
};

}  // namespace lingmo::translate
