// The translator for one vendor attempt: builds the vendor request from the client's request and
// turns the vendor's answer (streamed event by event, or whole) into the client's dialect.
//
// Pairs (client API -> vendor dialect) and how they are built:
//   chat      -> openai      relay (bytes pass; usage chunk hidden unless asked for)
//   chat      -> anthropic   hub -> Messages request; Anthropic events -> chat
//   chat      -> gemini      hub -> generateContent; Gemini events -> chat
//   messages  -> anthropic   passthrough (auth swapped, model mapped; betas forwarded)
//   messages  -> openai      Messages -> hub request; chat events -> Anthropic events
//   messages  -> gemini      Messages -> hub -> Gemini; Gemini -> chat -> Anthropic (two stages)
//   responses -> openai      Responses -> hub request; chat events -> Responses events, or a
//                            passthrough where the vendor serves /responses itself (OpenAI)
//   responses -> anthropic/gemini   through the hub, two stages
//   embeddings / count_tokens -> openai / anthropic: whole-body passthrough
// A fresh Translator per attempt: stream state never leaks from a failed attempt into the next.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sse/framer.h"
#include "translate/api.h"
#include "translate/stage.h"
#include "util/result.h"

namespace lingmo::translate {

class Translator {
 public:
  // False when this vendor dialect cannot serve this API (embeddings at Anthropic, ...).
  static bool supports(ClientApi api, VendorDialect vendor);

  // `req` must outlive the translator. `now_s` stamps created/created_at fields.
  // `native_responses`: the vendor serves the Responses API itself (config::Provider::responses_api).
  Translator(const ClientRequest& req, VendorDialect vendor, int64_t now_s, bool native_responses = false);

  VendorRequest request(const Target& t) const;

  Status on_event(const sse::Event& ev, std::string& out);
  Status on_end(std::string& out);  // the vendor's stream closed without a transport error
  bool complete() const { return stages_.back()->complete(); }
  bool substantive() const { return stages_.front()->substantive(); }
  const Usage& usage() const { return stages_.front()->usage(); }
  int64_t streamed_chars() const { return stages_.front()->streamed_chars(); }
  const std::string& error() const { return error_; }

  BodyKind on_body(std::string_view in, std::string& out);

 private:
  Status feed_next(size_t stage, std::string& bytes, std::string& out);

  const ClientRequest& req_;
  VendorDialect vendor_;
  bool responses_passthrough_;
  std::vector<std::unique_ptr<Stage>> stages_;  // vendor side first
  std::vector<sse::Framer> framers_;            // before each stage after the first
  std::vector<sse::Event> scratch_;
  std::string error_;
};

}  // namespace lingmo::translate
