#include "openai/request.h"

#include "util/json.h"

namespace lingmo::openai {

namespace {
// Fields some clients or SDK wrappers put in the body that would redirect a request elsewhere.
// The gateway decides where requests go; these never reach a vendor.
constexpr const char* kRoutingFields[] = {"api_base", "base_url", "api_key", "api_version", "custom_llm_provider"};

// JSON allows a repeated key; the gateway reads the first, many vendors' parsers keep the last. So
// the vendor body keeps only the first of a key (returned, or null) and drops the repeats.
rapidjson::Value* keep_first(rapidjson::Value& obj, const char* name) {
  rapidjson::Value* first = nullptr;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd();) {
    if (it->name != name) {
      ++it;
    } else if (!first) {
      first = &it->value;
      ++it;
    } else {
      it = obj.EraseMember(it);  // shifts only later members: `first` stays valid
    }
  }
  return first;
}
}  // namespace

bool parse_chat_request(std::string_view body, ChatRequest& out, ApiError& err) {
  auto& d = out.doc;
  json::parse(d, body.data(), body.size());
  if (d.HasParseError()) {
    err = invalid_request("We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                          "using your HTTP library correctly. The OpenAI API expects a JSON payload.)");
    return false;
  }
  if (!d.IsObject()) {
    err = invalid_request("The request body must be a JSON object.");
    return false;
  }
  auto model = d.FindMember("model");
  if (model == d.MemberEnd() || model->value.IsNull()) {
    err = invalid_request("you must provide a model parameter", "model");
    return false;
  }
  if (!model->value.IsString() || model->value.GetStringLength() == 0) {
    err = invalid_request("'model' must be a non-empty string.", "model");
    return false;
  }
  out.model.assign(model->value.GetString(), model->value.GetStringLength());
  auto messages = d.FindMember("messages");
  if (messages == d.MemberEnd()) {
    err = invalid_request("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
    return false;
  }
  if (!messages->value.IsArray() || messages->value.Empty()) {
    err = invalid_request("'messages' must be a non-empty array.", "messages");
    return false;
  }
  for (const auto& m : messages->value.GetArray()) {
    if (!m.IsObject() || !m.HasMember("role") || !m["role"].IsString()) {
      err = invalid_request("Each message must be an object with a string 'role'.", "messages");
      return false;
    }
  }
  if (auto s = d.FindMember("stream"); s != d.MemberEnd() && !s->value.IsNull()) {
    if (!s->value.IsBool()) {
      err = invalid_request("'stream' must be a boolean.", "stream");
      return false;
    }
    out.stream = s->value.GetBool();
  }
  if (auto so = d.FindMember("stream_options"); so != d.MemberEnd() && !so->value.IsNull()) {
    if (!so->value.IsObject()) {
      err = invalid_request("'stream_options' must be an object.", "stream_options");
      return false;
    }
    out.client_wants_usage = json::get_bool(so->value, "include_usage", false);
  }
  return true;
}

void prepare_upstream(rapidjson::Document& d, bool stream, std::string_view upstream_model,
                      const std::vector<std::string>& drop, const std::map<std::string, std::string>& rename) {
  auto& a = d.GetAllocator();
  for (const char* f : kRoutingFields)
    while (d.RemoveMember(f)) continue;  // every occurrence
  for (const auto& f : drop)
    if (f != "model" && f != "messages")
      while (d.RemoveMember(f.c_str())) continue;
  for (const auto& [from, to] : rename) {
    auto it = d.FindMember(from.c_str());
    if (it == d.MemberEnd() || from == "model" || from == "messages" || d.HasMember(to.c_str())) continue;
    rapidjson::Value name(to.c_str(), static_cast<rapidjson::SizeType>(to.size()), a);
    rapidjson::Value value(it->value, a);
    d.RemoveMember(it);
    d.AddMember(name, value, a);
  }
  rapidjson::Value* model = keep_first(d, "model");
  if (!model) {
    d.AddMember("model", rapidjson::Value(rapidjson::kStringType), a);
    model = &d["model"];
  }
  model->SetString(upstream_model.data(), static_cast<rapidjson::SizeType>(upstream_model.size()), a);
  keep_first(d, "stream");
  if (stream) {
    rapidjson::Value* so = keep_first(d, "stream_options");
    if (!so) {
      d.AddMember("stream_options", rapidjson::Value(rapidjson::kObjectType), a);
      so = &d["stream_options"];
    } else if (!so->IsObject()) {
      so->SetObject();
    }
    if (rapidjson::Value* iu = keep_first(*so, "include_usage"))
      iu->SetBool(true);
    else
      so->AddMember("include_usage", true, a);
  }
}

std::string build_upstream_body(const ChatRequest& req, std::string_view upstream_model,
                                const std::vector<std::string>& drop, const std::map<std::string, std::string>& rename) {
  rapidjson::Document d;
  d.CopyFrom(req.doc, d.GetAllocator());
  prepare_upstream(d, req.stream, upstream_model, drop, rename);
  return json::stringify(d);
}

}  // namespace lingmo::openai
