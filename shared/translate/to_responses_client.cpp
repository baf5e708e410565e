// Response stage that writes the OpenAI Responses dialect from the chat hub: the full event set
// Codex and opencode need (response.created, output_item.added, content_part.added, text
// deltas, *.done, response.completed with usage), and whole response objects.
#include <map>

#include "translate/chat_wire.h"
#include "translate/jsonv.h"

namespace lingmo::translate {

namespace {

using jv::Value;
using jv::Writer;
using jv::json_of;

struct Item {
  enum Kind { kMessage, kReasoning, kFunction, kCustom } kind;
  std::string id, text, call_id, name;  // text: message text, reasoning summary, or call arguments
  bool open = true;
};

using Namespaced = std::map<std::string, std::pair<std::string, std::string>>;

void write_item(Writer& w, const Item& it, bool done, const Namespaced& ns = {}) {
  w.StartObject();
  w.Key("id");
  jv::write(w, it.id);
  w.Key("type");
  switch (it.kind) {
    case Item::kMessage:
      w.String("message");
      w.Key("status");
      w.String(done ? "completed" : "in_progress");
      w.Key("role");
      w.String("assistant");
      w.Key("content");
      w.StartArray();
      if (done) {
        w.StartObject();
        w.Key("type");
        w.String("output_text");
        w.Key("text");
        jv::write(w, it.text);
        w.Key("annotations");
        w.StartArray();
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      break;
    case Item::kReasoning:
      w.String("reasoning");
      w.Key("summary");
      w.StartArray();
      if (done) {
        w.StartObject();
        w.Key("type");
        w.String("summary_text");
        w.Key("text");
        jv::write(w, it.text);
        w.EndObject();
      }
      w.EndArray();
      break;
    case Item::kFunction:
    case Item::kCustom: {
      bool custom = it.kind == Item::kCustom;
      w.String(custom ? "custom_tool_call" : "function_call");
      w.Key("status");
      w.String(done ? "completed" : "in_progress");
      w.Key("call_id");
      jv::write(w, it.call_id);
      w.Key("name");
      auto flat = ns.find(it.name);
      if (flat == ns.end()) {
        jv::write(w, it.name);
      } else {
        jv::write(w, flat->second.second);
        w.Key("namespace");
        jv::write(w, flat->second.first);
      }
      w.Key(custom ? "input" : "arguments");
      if (!done) {
        w.String("");
      } else if (custom) {
        // The vendor saw a function with one string argument "input": hand back that string.
        rapidjson::Document args;
        json::parse(args, it.text.data(), it.text.size());
        const Value* input = args.HasParseError() ? nullptr : jv::get(args, "input");
        jv::write(w, input && input->IsString() ? jv::sv(input) : std::string_view(it.text));
      } else {
        jv::write(w, it.text);
      }
      break;
    }
  }
  w.EndObject();
}

class ChatToResponses final : public Stage {
 public:
  ChatToResponses(const ClientRequest& req, int64_t created)
      : model_(req.model), created_(created), id_(mint_id("resp_")), custom_(req.custom_tools), namespaced_(req.namespaced) {
    const Value& d = req.doc;
    if (const Value* v = jv::get(d, "instructions"); v && v->IsString()) instructions_ = jv::sv(v);
    if (const Value* v = jv::get(d, "max_output_tokens"); v && v->IsInt64()) max_output_ = v->GetInt64();
    if (const Value* v = jv::get(d, "temperature"); v && v->IsNumber()) temperature_ = v->GetDouble();
    if (const Value* v = jv::get(d, "top_p"); v && v->IsNumber()) top_p_ = v->GetDouble();
    if (const Value* v = jv::get(d, "parallel_tool_calls"); v && v->IsBool()) parallel_ = v->GetBool();
  }

  Status on_event(const sse::Event& ev, std::string& out) override {
    if (ev.data == "[DONE]") {
      begin(out);
      close_all(out);
      complete_ = substantive_ = true;
      emit(out, finish_ == "length" || finish_ == "content_filter" ? "response.incomplete" : "response.completed",
           [&](Writer& w) {
             w.Key("response");
             write_response(w, true);
           });
      return Status::kOk;
    }
    ChatChunk chunk;
    if (Status st = read_chat_chunk(ev, chunk, error_); st != Status::kOk) return st;
    begin(out);
    if (chunk.has_usage) {
      usage_ = chunk.usage;
      substantive_ = true;
    }
    if (!chunk.reasoning.empty()) reasoning_delta(out, chunk.reasoning);
    if (!chunk.content.empty()) text_delta(out, chunk.content);
    for (const auto& call : chunk.calls) call_delta(out, call.index, call.id, call.name, call.arguments);
    if (!chunk.finish.empty()) {
      finish_ = chunk.finish;
      substantive_ = true;
      close_all(out);
    }
    return Status::kOk;
  }

  BodyKind on_body(std::string_view in, std::string& out) override {
    Answer a;
    BodyKind kind = parse_chat_completion(in, a, error_);
    if (kind != BodyKind::kAnswer) return kind;
    usage_ = a.usage;
    finish_ = a.finish;
    if (!a.reasoning.empty()) items_.push_back({Item::kReasoning, mint_id("rs_"), a.reasoning, "", "", false});
    if (!a.text.empty()) items_.push_back({Item::kMessage, mint_id("msg_"), a.text, "", "", false});
    for (const auto& c : a.calls)
      items_.push_back({custom_.count(c.name) ? Item::kCustom : Item::kFunction, mint_id("fc_"), c.arguments,
                        c.id.empty() ? mint_id("call_") : c.id, c.name, false});
    out = json_of([&](Writer& w) { write_response(w, true); });
    return BodyKind::kAnswer;
  }

 private:
  template <class F>
  void emit(std::string& out, const char* type, F&& body) {
    append_sse(out, type, json_of([&](Writer& w) {
      w.StartObject();
      w.Key("type");
      w.String(type);
      w.Key("sequence_number");
      w.Int64(seq_++);
      body(w);
      w.EndObject();
    }));
  }

  void begin(std::string& out) {
    if (started_) return;
    started_ = true;
    emit(out, "response.created", [&](Writer& w) {
      w.Key("response");
      write_response(w, false);
    });
    emit(out, "response.in_progress", [&](Writer& w) {
      w.Key("response");
      write_response(w, false);
    });
  }

  Item* open_of(Item::Kind kind) {
    for (auto& it : items_)
      if (it.open && it.kind == kind) return &it;
    return nullptr;
  }

  size_t index_of(const Item& it) const { return static_cast<size_t>(&it - items_.data()); }

  void item_keys(Writer& w, const Item& it) {
    w.Key("item_id");
    jv::write(w, it.id);
    w.Key("output_index");
    w.Uint64(index_of(it));
  }

  Item& add_item(std::string& out, Item item) {
    substantive_ = true;
    items_.push_back(std::move(item));
    Item& it = items_.back();
    emit(out, "response.output_item.added", [&](Writer& w) {
      w.Key("output_index");
      w.Uint64(index_of(it));
      w.Key("item");
      write_item(w, it, false, namespaced_);
    });
    return it;
  }

  void reasoning_delta(std::string& out, std::string_view text) {
    Item* it = open_of(Item::kReasoning);
    if (!it) {
      close_open(out, Item::kMessage);
      it = &add_item(out, {Item::kReasoning, mint_id("rs_"), "", "", "", true});
      emit(out, "response.reasoning_summary_part.added", [&](Writer& w) {
        item_keys(w, *it);
        w.Key("summary_index");
        w.Int(0);
        w.Key("part");
        w.StartObject();
        w.Key("type");
        w.String("summary_text");
        w.Key("text");
        w.String("");
        w.EndObject();
      });
    }
    it->text += text;
    chars_ += static_cast<int64_t>(text.size());
    emit(out, "response.reasoning_summary_text.delta", [&](Writer& w) {
      item_keys(w, *it);
      w.Key("summary_index");
      w.Int(0);
      w.Key("delta");
      jv::write(w, text);
    });
  }

  void text_delta(std::string& out, std::string_view text) {
    Item* it = open_of(Item::kMessage);
    if (!it) {
      close_open(out, Item::kReasoning);
      it = &add_item(out, {Item::kMessage, mint_id("msg_"), "", "", "", true});
      emit(out, "response.content_part.added", [&](Writer& w) {
        item_keys(w, *it);
        w.Key("content_index");
        w.Int(0);
        w.Key("part");
        output_text_part(w, "");
      });
    }
    it->text += text;
    chars_ += static_cast<int64_t>(text.size());
    emit(out, "response.output_text.delta", [&](Writer& w) {
      item_keys(w, *it);
      w.Key("content_index");
      w.Int(0);
      w.Key("delta");
      jv::write(w, text);
      w.Key("logprobs");
      w.StartArray();
      w.EndArray();
    });
  }

  // Calls stay open until the finish: parallel calls may interleave their argument fragments,
  // and every item event names its item, so none of them has to be closed early.
  void call_delta(std::string& out, int index, std::string_view id, std::string_view name, std::string_view args) {
    auto found = calls_.find(index);
    if (found == calls_.end()) {
      close_open(out, Item::kReasoning);
      close_open(out, Item::kMessage);
      std::string call_id = id.empty() ? mint_id("call_") : std::string(id);
      bool custom = custom_.count(std::string(name)) > 0;
      add_item(out, {custom ? Item::kCustom : Item::kFunction, mint_id(custom ? "ctc_" : "fc_"), "", call_id, std::string(name), true});
      found = calls_.emplace(index, items_.size() - 1).first;
    }
    Item& it = items_[found->second];
    if (args.empty() || !it.open) return;
    it.text += args;
    chars_ += static_cast<int64_t>(args.size());
    if (it.kind == Item::kFunction)
      emit(out, "response.function_call_arguments.delta", [&](Writer& w) {
        item_keys(w, it);
        w.Key("delta");
        jv::write(w, args);
      });
  }

  void output_text_part(Writer& w, std::string_view text) {
    w.StartObject();
    w.Key("type");
    w.String("output_text");
    w.Key("text");
    jv::write(w, text);
    w.Key("annotations");
    w.StartArray();
    w.EndArray();
    w.EndObject();
  }

  void close(std::string& out, Item& it) {
    if (!it.open) return;
    it.open = false;
    switch (it.kind) {
      case Item::kMessage:
        emit(out, "response.output_text.done", [&](Writer& w) {
          item_keys(w, it);
          w.Key("content_index");
          w.Int(0);
          w.Key("text");
          jv::write(w, it.text);
          w.Key("logprobs");
          w.StartArray();
          w.EndArray();
        });
        emit(out, "response.content_part.done", [&](Writer& w) {
          item_keys(w, it);
          w.Key("content_index");
          w.Int(0);
          w.Key("part");
          output_text_part(w, it.text);
        });
        break;
      case Item::kReasoning:
        emit(out, "response.reasoning_summary_text.done", [&](Writer& w) {
          item_keys(w, it);
          w.Key("summary_index");
          w.Int(0);
          w.Key("text");
          jv::write(w, it.text);
        });
        emit(out, "response.reasoning_summary_part.done", [&](Writer& w) {
          item_keys(w, it);
          w.Key("summary_index");
          w.Int(0);
          w.Key("part");
          w.StartObject();
          w.Key("type");
          w.String("summary_text");
          w.Key("text");
          jv::write(w, it.text);
          w.EndObject();
        });
        break;
      case Item::kFunction:
        emit(out, "response.function_call_arguments.done", [&](Writer& w) {
          item_keys(w, it);
          w.Key("arguments");
          jv::write(w, it.text);
        });
        break;
      case Item::kCustom: {
        std::string input = json_of([&](Writer& w) { write_item(w, it, true, namespaced_); });
        rapidjson::Document item;
        json::parse(item, input.data(), input.size());
        std::string_view text = jv::sv(item, "input");
        emit(out, "response.custom_tool_call_input.delta", [&](Writer& w) {
          item_keys(w, it);
          w.Key("delta");
          jv::write(w, text);
        });
        emit(out, "response.custom_tool_call_input.done", [&](Writer& w) {
          item_keys(w, it);
          w.Key("input");
          jv::write(w, text);
        });
        break;
      }
    }
    emit(out, "response.output_item.done", [&](Writer& w) {
      w.Key("output_index");
      w.Uint64(index_of(it));
      w.Key("item");
      write_item(w, it, true, namespaced_);
    });
  }

  void close_open(std::string& out, Item::Kind kind) {
    if (Item* it = open_of(kind)) close(out, *it);
  }

  void close_all(std::string& out) {
    for (auto& it : items_) close(out, it);
  }

  void write_response(Writer& w, bool done) {
    bool incomplete = done && (finish_ == "length" || finish_ == "content_filter");
    w.StartObject();
    w.Key("id");
    jv::write(w, id_);
    w.Key("object");
    w.String("response");
    w.Key("created_at");
    w.Int64(created_);
    w.Key("status");
    w.String(!done ? "in_progress" : (incomplete ? "incomplete" : "completed"));
    w.Key("error");
    w.Null();
    w.Key("incomplete_details");
    if (incomplete) {
      w.StartObject();
      w.Key("reason");
      w.String(finish_ == "length" ? "max_output_tokens" : "content_filter");
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("instructions");
    if (instructions_.empty()) w.Null();
    else jv::write(w, instructions_);
    w.Key("max_output_tokens");
    if (max_output_) w.Int64(max_output_);
    else w.Null();
    w.Key("model");
    jv::write(w, model_);
    w.Key("output");
    w.StartArray();
    if (done)
      for (const auto& it : items_) write_item(w, it, true, namespaced_);
    w.EndArray();
    w.Key("parallel_tool_calls");
    w.Bool(parallel_);
    w.Key("previous_response_id");
    w.Null();
    w.Key("store");
    w.Bool(false);
    w.Key("temperature");
    w.Double(temperature_);
    w.Key("top_p");
    w.Double(top_p_);
    w.Key("text");
    w.StartObject();
    w.Key("format");
    w.StartObject();
    w.Key("type");
    w.String("text");
    w.EndObject();
    w.EndObject();
    w.Key("tool_choice");
    w.String("auto");
    w.Key("tools");
    w.StartArray();
    w.EndArray();
    w.Key("truncation");
    w.String("disabled");
    w.Key("usage");
    if (!done) {
      w.Null();
    } else {
      w.StartObject();
      w.Key("input_tokens");
      w.Int64(usage_.prompt_tokens);
      w.Key("input_tokens_details");
      w.StartObject();
      w.Key("cached_tokens");
      w.Int64(usage_.cached_tokens);
      w.EndObject();
      w.Key("output_tokens");
      w.Int64(usage_.completion_tokens);
      w.Key("output_tokens_details");
      w.StartObject();
      w.Key("reasoning_tokens");
      w.Int64(usage_.reasoning_tokens);
      w.EndObject();
      w.Key("total_tokens");
      w.Int64(usage_.total_tokens ? usage_.total_tokens : usage_.prompt_tokens + usage_.completion_tokens);
      w.EndObject();
    }
    w.Key("metadata");
    w.StartObject();
    w.EndObject();
    w.EndObject();
  }

  std::string model_;
  int64_t created_;
  std::string id_;
  std::set<std::string> custom_;
  Namespaced namespaced_;
  std::string instructions_;
  int64_t max_output_ = 0;
  double temperature_ = 1, top_p_ = 1;
  bool parallel_ = true;
  std::vector<Item> items_;  // output order (pointers into it never outlive a push_back)
  std::map<int, size_t> calls_;  // chat tool-call index -> items_ position
  std::string finish_ = "stop";
  int64_t seq_ = 0;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<Stage> make_chat_to_responses(const ClientRequest& req, int64_t created) {
  return std::make_unique<ChatToResponses>(req, created);
}

}  // namespace lingmo::translate

namespace lingmo::translate {

namespace {

// Responses vendor -> Responses client (a vendor that serves /responses itself): events pass
// unchanged; usage is read from response.completed, the end from completed/incomplete.
class ResponsesRelay final : public Stage {
 public:
  Status on_event(const sse::Event& ev, std::string& out) override {
    rapidjson::Document d;
    if (Status st = parse_event(ev, d); st != Status::kOk) return st;
    std::string_view type = jv::sv(d, "type");
    if (type.empty()) type = ev.event;
    if (type == "error" || type == "response.failed") {
      const Value* e = jv::get(d, "response") ? jv::get(d["response"], "error") : nullptr;
      std::string_view msg = e ? jv::sv(*e, "message") : jv::sv(d, "message");
      return upstream_error(std::string(msg.empty() ? type : msg));
    }
    if (type != "response.created" && type != "response.in_progress" && type != "response.queued") substantive_ = true;
    if (const Value* delta = jv::get(d, "delta"); delta && delta->IsString()) chars_ += delta->GetStringLength();
    if (type == "response.completed" || type == "response.incomplete") {
      complete_ = true;
      if (const Value* r = jv::get(d, "response")) read_usage(*r);
    }
    append_sse(out, type, ev.data);
    return Status::kOk;
  }

  BodyKind on_body(std::string_view in, std::string& out) override {
    rapidjson::Document d;
    json::parse(d, in.data(), in.size());
    if (d.HasParseError() || !d.IsObject()) return BodyKind::kMalformed;
    if (jv::get(d, "error") && !jv::get(d, "output")) return BodyKind::kError;
    if (!jv::get(d, "output")) {
      error_ = "the response body is not a Responses object";
      return BodyKind::kMalformed;
    }
    read_usage(d);
    out.assign(in);
    return BodyKind::kAnswer;
  }

 private:
  void read_usage(const Value& response) {
    const Value* u = jv::get(response, "usage");
    if (!u) return;
    usage_.present = true;
    usage_.prompt_tokens = jv::int_or(*u, "input_tokens", 0);
    usage_.completion_tokens = jv::int_or(*u, "output_tokens", 0);
    usage_.total_tokens = jv::int_or(*u, "total_tokens", usage_.prompt_tokens + usage_.completion_tokens);
    if (const Value* d = jv::get(*u, "input_tokens_details")) usage_.cached_tokens = jv::int_or(*d, "cached_tokens", 0);
    if (const Value* d = jv::get(*u, "output_tokens_details")) usage_.reasoning_tokens = jv::int_or(*d, "reasoning_tokens", 0);
  }

};

}  // namespace

std::unique_ptr<Stage> make_responses_relay() { return std::make_unique<ResponsesRelay>(); }

}  // namespace lingmo::translate
