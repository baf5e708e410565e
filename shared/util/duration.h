// Parsing the ways vendors say "wait this long": Retry-After (seconds or an HTTP date), Go-style
// durations in x-ratelimit-reset-* ("1s", "6m0s", "2m59.56s", "250ms") and google.rpc RetryInfo
// ("22s", "1.5s"), and RFC 3339 timestamps (anthropic-ratelimit-*-reset).
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace lingmo::duration {

// Go/Google duration -> milliseconds. nullopt if it is not one.
std::optional<int64_t> parse_go(std::string_view s);

// Retry-After value -> milliseconds from `now_ms` (never negative). nullopt if unparsable.
std::optional<int64_t> parse_retry_after(std::string_view s, int64_t now_ms);

// RFC 3339 / ISO 8601 UTC or offset timestamp -> epoch milliseconds.
std::optional<int64_t> parse_rfc3339(std::string_view s);

}  // namespace lingmo::duration
