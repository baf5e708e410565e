// Parsing and validating an OpenAI chat-completions request, and building the body sent to an
// OpenAI-compatible vendor for one attempt (a fresh body per failover attempt).
#pragma once
#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>
#include <string_view>

#include "openai/errors.h"

namespace lingmo::openai {

struct ChatRequest {
  rapidjson::Document doc;  // the client's body, validated
  std::string model;
  bool stream = false;
  bool client_wants_usage = false;  // stream_options.include_usage was true
};

// Returns false and fills `err` (a 400 in OpenAI's wording) when the body is unusable.
bool parse_chat_request(std::string_view body, ChatRequest& out, ApiError& err);

// Turns a chat request (a copy the caller owns) into the body for one vendor, in place: the
// vendor's model id, routing fields a client must not control removed (api_base, base_url, ...),
// and — for streams — include_usage forced on so usage can always be counted.
// `drop` / `rename` apply a vendor's parameter quirks (e.g. a vendor that rejects `logprobs`, or
// wants `max_tokens` called `max_completion_tokens`); a rename never overwrites a field the client set.
void prepare_upstream(rapidjson::Document& d, bool stream, std::string_view upstream_model,
                      const std::vector<std::string>& drop = {}, const std::map<std::string, std::string>& rename = {});

// The same, on a copy of a parsed client request, serialised.
std::string build_upstream_body(const ChatRequest& req, std::string_view upstream_model,
                                const std::vector<std::string>& drop = {},
                                const std::map<std::string, std::string>& rename = {});

}  // namespace lingmo::openai
