// One step of response translation: vendor dialect A in, client dialect B out, for streams (one
// whole SSE event at a time; framing is sse/framer.h's job) and for whole bodies. A Translator
// (translate/translator.h) chains one or two stages, e.g. Gemini -> chat -> Anthropic.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "sse/framer.h"
#include "translate/api.h"

namespace lingmo::translate {

enum class Status { kOk, kMalformed, kUpstreamError };
enum class BodyKind { kAnswer, kError, kMalformed };

class Stage {
 public:
  virtual ~Stage() = default;

  // One upstream event; appends what the next step receives (SSE bytes) to `out`.
  virtual Status on_event(const sse::Event& ev, std::string& out) = 0;
  // The upstream closed its stream normally (Gemini ends streams this way; others have an end event).
  virtual Status on_end(std::string& out) { (void)out; return Status::kOk; }
  // A whole (non-stream) upstream body -> the next step's body.
  virtual BodyKind on_body(std::string_view in, std::string& out) = 0;

  // The answer ended the way its dialect ends a complete answer.
  virtual bool complete() const { return complete_; }
  // Something beyond stream set-up arrived (content, a tool call, a finish, usage).
  virtual bool substantive() const { return substantive_; }
  virtual const Usage& usage() const { return usage_; }
  // Characters of generated text seen: what an interrupted stream without usage is charged.
  virtual int64_t streamed_chars() const { return chars_; }
  const std::string& error() const { return error_; }

 protected:
  // Parses an event's data as a JSON object; kMalformed (with error()) otherwise. RapidJSON takes
  // a NUL byte for the end of the text, so data containing one is refused too.
  Status parse_event(const sse::Event& ev, rapidjson::Document& d);
  Status upstream_error(std::string message) {
    error_ = "vendor reported an error mid-stream: " + std::move(message);
    return Status::kUpstreamError;
  }

  std::string error_;
  Usage usage_;
  int64_t chars_ = 0;
  bool substantive_ = false;
  bool complete_ = false;
};

// What every chat-producing stage needs to know about the answer it writes.
struct ChatOut {
  std::string model;       // the model name the client asked for
  bool wants_usage = true; // emit the usage chunk (choices: []) before [DONE]
  int64_t created = 0;     // unix seconds
};

std::unique_ptr<Stage> make_chat_relay(bool wants_usage);                     // OpenAI vendor, chat out
std::unique_ptr<Stage> make_anthropic_to_chat(const ChatOut& o);              // Anthropic vendor, chat out
std::unique_ptr<Stage> make_gemini_to_chat(const ChatOut& o);                 // Gemini vendor, chat out
std::unique_ptr<Stage> make_chat_to_anthropic(const std::string& model);      // chat in, Anthropic client
std::unique_ptr<Stage> make_chat_to_responses(const ClientRequest& req, int64_t created);  // chat in, Responses client
std::unique_ptr<Stage> make_anthropic_relay();                                // Anthropic vendor, Anthropic client
std::unique_ptr<Stage> make_responses_relay();                                // Responses vendor, Responses client
std::unique_ptr<Stage> make_body_relay(ClientApi api);                        // embeddings, count_tokens

// Writes one SSE event ("event: name" line when `name` is non-empty).
void append_sse(std::string& out, std::string_view name, std::string_view data);

}  // namespace lingmo::translate
