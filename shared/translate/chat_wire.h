// The OpenAI chat wire as the hub of response translation: a writer for chat.completion.chunk
// events, and a neutral Answer for whole (non-stream) bodies with its chat form both ways.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "translate/jsonv.h"
#include "translate/stage.h"

namespace lingmo::translate {

struct ToolCall {
  std::string id, name, arguments;  // arguments: JSON text
};

// A whole answer in neutral terms (finish uses chat's words: stop, length, tool_calls, content_filter).
struct Answer {
  std::string id, model, text, reasoning, finish = "stop";
  std::vector<ToolCall> calls;
  Usage usage;
};

// Parses a chat.completion body (first choice). kError when it is an error object.
BodyKind parse_chat_completion(std::string_view body, Answer& out, std::string& error);
std::string chat_completion_json(const Answer& a, int64_t created);
void write_chat_usage(rapidjson::Writer<rapidjson::StringBuffer>& w, const Usage& u);

// One chat.completion.chunk as the stages that read the chat hub see it (first choice only).
struct ChatChunk {
  struct Call {
    int index = 0;
    std::string id, name, arguments;  // id and name only on a call's first fragment
  };
  bool has_usage = false;
  Usage usage;
  std::string reasoning, content, finish;  // reasoning: reasoning_content or reasoning (OpenRouter)
  std::vector<Call> calls;
};

// Reads one chat event other than [DONE]: kMalformed for non-JSON, kUpstreamError for an error
// chunk ({"error": ...}), with the message in `error`.
Status read_chat_chunk(const sse::Event& ev, ChatChunk& out, std::string& error);

class ChatWriter {
 public:
  ChatWriter(ChatOut o, std::string id) : o_(std::move(o)), id_(std::move(id)) {}
  void role(std::string& out);
  void content(std::string& out, std::string_view text);
  void reasoning(std::string& out, std::string_view text);
  void tool_start(std::string& out, int index, std::string_view id, std::string_view name, std::string_view args);
  void tool_args(std::string& out, int index, std::string_view args);
  void finish(std::string& out, std::string_view reason);
  void usage(std::string& out, const Usage& u);  // only when the client asked for usage
  void done(std::string& out) { out += "data: [DONE]\n\n"; }

 private:
  template <class F>
  void chunk(std::string& out, F&& delta, std::string_view finish = {});
  void head(jv::Writer& w) const;  // id, object, created, model: the same on every chunk
  ChatOut o_;
  std::string id_;
};

}  // namespace lingmo::translate
