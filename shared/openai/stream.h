// The OpenAI -> OpenAI response path: relays a vendor's chat-completion stream to the client
// event by event, reads usage from it, and hides the usage chunk the gateway asked for when the
// client did not. Also inspects non-stream bodies. Pure: bytes in, bytes out.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/fwd.h>

#include "sse/framer.h"

namespace lingmo::openai {

struct Usage {
  bool present = false;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_tokens = 0;     // part of prompt_tokens served from the vendor's prompt cache
  int64_t reasoning_tokens = 0;  // part of completion_tokens spent thinking
};

// Reads "usage" from a chat.completion or chunk object; false if absent or null.
bool read_usage(std::string_view json, Usage& out);

class StreamRelay {
 public:
  enum class Status { kOk, kMalformed, kUpstreamError };

  explicit StreamRelay(bool client_wants_usage) : client_wants_usage_(client_wants_usage) {}

  // Handles one upstream event, appending what the client should receive to `out` (possibly
  // nothing). kMalformed / kUpstreamError: the event was not relayed; `error_message()` says why.
  Status on_event(const sse::Event& ev, std::string& out);

  bool done() const { return done_; }             // [DONE] seen
  // True once an event carried something beyond stream set-up (content, a tool call, reasoning,
  // a finish reason, usage or [DONE]). Until then the gateway holds the relayed bytes back, so
  // a vendor that fails right after its role-only first chunk can still be failed over unseen.
  bool substantive() const { return substantive_; }
  const Usage& usage() const { return usage_; }
  const std::string& error_message() const { return error_; }
  int64_t streamed_chars() const { return streamed_chars_; }

 private:
  bool client_wants_usage_;
  bool done_ = false;
  bool substantive_ = false;
  int64_t streamed_chars_ = 0;
  void count_streamed(const rapidjson::Value& d);
  Usage usage_;
  std::string error_;
};

// Non-stream body check: valid JSON chat.completion (or an error object) and its usage.
enum class BodyKind { kCompletion, kError, kMalformed };
BodyKind inspect_completion(std::string_view body, Usage& usage);

}  // namespace lingmo::openai
