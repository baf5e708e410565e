#include "translate/translator.h"

#include "translate/hub.h"

namespace lingmo::translate {

bool Translator::supports(ClientApi api, VendorDialect vendor) {
  switch (api) {
    case ClientApi::kEmbeddings: return vendor == VendorDialect::kOpenAI;
    case ClientApi::kCountTokens: return vendor == VendorDialect::kAnthropic;
    default: return true;
  }
}

Translator::Translator(const ClientRequest& req, VendorDialect vendor, int64_t now_s, bool native_responses)
    : req_(req), vendor_(vendor),
      responses_passthrough_(native_responses && vendor == VendorDialect::kOpenAI && req.api == ClientApi::kResponses) {
  // The hub stage: vendor dialect -> chat. Usage is always asked of it (quota needs it); the
  // chat client's own wish decides whether the last stage shows it.
  bool chat_client = req.api == ClientApi::kChat;
  ChatOut hub{req.model, chat_client ? req.wants_usage : true, now_s};
  if (req.api == ClientApi::kEmbeddings || req.api == ClientApi::kCountTokens) {
    stages_.push_back(make_body_relay(req.api));
  } else if (req.api == ClientApi::kMessages && vendor == VendorDialect::kAnthropic) {
    stages_.push_back(make_anthropic_relay());
  } else if (responses_passthrough_) {
    stages_.push_back(make_responses_relay());
  } else {
    switch (vendor) {
      case VendorDialect::kOpenAI:
        if (chat_client) stages_.push_back(make_chat_relay(req.wants_usage));
        break;  // otherwise the client-side stage reads the vendor's chat events directly
      case VendorDialect::kAnthropic: stages_.push_back(make_anthropic_to_chat(hub)); break;
      case VendorDialect::kGemini: stages_.push_back(make_gemini_to_chat(hub)); break;
    }
    if (req.api == ClientApi::kMessages) stages_.push_back(make_chat_to_anthropic(req.model));
    if (req.api == ClientApi::kResponses) stages_.push_back(make_chat_to_responses(req, now_s));
  }
  framers_.resize(stages_.size());
}

VendorRequest Translator::request(const Target& t) const {
  switch (req_.api) {
    case ClientApi::kEmbeddings: return embeddings_passthrough(req_, t);
    case ClientApi::kCountTokens: return count_tokens_passthrough(req_, t);
    case ClientApi::kMessages:
      if (vendor_ == VendorDialect::kAnthropic) return messages_passthrough(req_, t);
      break;
    case ClientApi::kResponses:
      if (responses_passthrough_) return responses_passthrough(req_, t);
      break;
    default: break;
  }
  switch (vendor_) {
    case VendorDialect::kOpenAI: return chat_to_openai(req_, t);
    case VendorDialect::kAnthropic: return chat_to_anthropic(req_, t);
    case VendorDialect::kGemini: return chat_to_gemini(req_, t);
  }
  return chat_to_openai(req_, t);
}

// Passes the bytes stage `i-1` produced through stage `i` (and on), leaving the last stage's
// output in `out`.
Status Translator::feed_next(size_t i, std::string& bytes, std::string& out) {
  if (i == stages_.size()) {
    out += bytes;
    return Status::kOk;
  }
  std::vector<sse::Event> events;
  framers_[i].feed(bytes, events);  // our own output: well formed and bounded by the stage before
  for (const auto& ev : events) {
    std::string next;
    Status st = stages_[i]->on_event(ev, next);
    if (st != Status::kOk) {
      error_ = stages_[i]->error();
      return st;
    }
    if (Status s2 = feed_next(i + 1, next, out); s2 != Status::kOk) return s2;
  }
  return Status::kOk;
}

Status Translator::on_event(const sse::Event& ev, std::string& out) {
  std::string first;
  Status st = stages_[0]->on_event(ev, first);
  if (st != Status::kOk) {
    error_ = stages_[0]->error();
    return st;
  }
  return feed_next(1, first, out);
}

Status Translator::on_end(std::string& out) {
  for (size_t i = 0; i < stages_.size(); ++i) {
    std::string tail;
    Status st = stages_[i]->on_end(tail);
    if (st != Status::kOk) {
      error_ = stages_[i]->error();
      return st;
    }
    if (Status s2 = feed_next(i + 1, tail, out); s2 != Status::kOk) return s2;
  }
  return Status::kOk;
}

BodyKind Translator::on_body(std::string_view in, std::string& out) {
  std::string cur(in);
  for (auto& stage : stages_) {
    std::string next;
    BodyKind kind = stage->on_body(cur, next);
    if (kind != BodyKind::kAnswer) {
      error_ = stage->error();
      return kind;
    }
    cur.swap(next);
  }
  out.swap(cur);
  return BodyKind::kAnswer;
}

}  // namespace lingmo::translate
