// The request path: authenticate, parse, route, call vendors with invisible failover, relay the
// answer (streamed event by event), count usage. Everything here runs on nginx's event loop:
// the vendor call reports through a posted "wake" event, timers bound every wait, and the client
// connection's write event drives flow control. No exception crosses into nginx (the handler and
// every event handler catch at their top).
#include "handler.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bridge.h"
#include "conf.h"
#include "config/schema.h"
#include "config/snapshot.h"
#include "failover/outcome.h"
#include "openai/errors.h"
#include "quota/admission.h"
#include "routing/router.h"
#include "sse/framer.h"
#include "translate/errors.h"
#include "translate/translator.h"
#include "usage/request_log.h"
#include "util/json.h"
#include "util/secret.h"
#include "vendor_call.h"
#include "worker.h"

namespace lingmo::ngx {
namespace {

using failover::AttemptRecord;
using failover::Failure;
using openai::ApiError;
using translate::ClientApi;

// The endpoints, matched on the end of the path (the query string is never part of r->uri:
// Claude Code's /v1/messages?beta=true matches /messages).
struct EndpointSpec {
  std::string_view suffix;
  ClientApi api;
};
constexpr EndpointSpec kEndpoints[] = {
    {"/chat/completions", ClientApi::kChat},        {"/messages/count_tokens", ClientApi::kCountTokens},
    {"/messages", ClientApi::kMessages},            {"/responses", ClientApi::kResponses},
    {"/embeddings", ClientApi::kEmbeddings},
};
constexpr std::string_view kModelsSuffix = "/models";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

int64_t now_ms() {
  if (Worker* w = Worker::instance()) return w->now_ms();
  ngx_time_t* tp = ngx_timeofday();
  return static_cast<int64_t>(tp->sec) * 1000 + static_cast<int64_t>(tp->msec);
}

bool add_header(ngx_http_request_t* r, std::string_view name, std::string_view value) {
  auto* h = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
  if (!h) return false;
  ngx_memzero(h, sizeof(*h));  // also clears `next`, which newer nginx versions have
  h->hash = 1;
  h->key = pool_str(r->pool, name);
  h->value = pool_str(r->pool, value);
  return h->key.data && h->value.data;
}

// A complete response with a body held in memory. Returns what ngx_http_finalize_request needs.
ngx_int_t send_whole(ngx_http_request_t* r, ngx_uint_t status, std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  r->headers_out.status = status;
  ngx_str_set(&r->headers_out.content_type, "application/json");
  r->headers_out.content_type_len = r->headers_out.content_type.len;
  r->headers_out.content_length_n = static_cast<off_t>(body.size());
  for (const auto& [k, v] : headers)
    if (!add_header(r, k, v)) return NGX_ERROR;
  ngx_int_t rc = ngx_http_send_header(r);
  if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return rc;
  auto* b = static_cast<ngx_buf_t*>(ngx_calloc_buf(r->pool));
  if (!b) return NGX_ERROR;
  if (!body.empty()) {
    ngx_str_t copy = pool_str(r->pool, body);
    if (!copy.data) return NGX_ERROR;
    b->pos = b->start = copy.data;
    b->last = b->end = copy.data + copy.len;
    b->memory = 1;
  }
  b->last_buf = (r == r->main) ? 1 : 0;
  b->last_in_chain = 1;
  ngx_chain_t out{b, nullptr};
  return ngx_http_output_filter(r, &out);
}

// An error in the dialect of the API the client called.
ngx_int_t send_error(ngx_http_request_t* r, ClientApi api, const ApiError& e,
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  translate::RenderedError out = translate::render_error(api, e);
  return send_whole(r, static_cast<ngx_uint_t>(out.status), out.body, headers);
}

// An error answered before the body was read: the body must still be consumed, or a keep-alive
// connection would parse it as the next request.
ngx_int_t send_early_error(ngx_http_request_t* r, ClientApi api, const ApiError& e,
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  if (ngx_http_discard_request_body(r) != NGX_OK) r->keepalive = 0;
  return send_error(r, api, e, headers);
}

// A request header's value by name (case-insensitive); empty if absent.
std::string_view header_in(ngx_http_request_t* r, std::string_view name) {
  for (ngx_list_part_t* part = &r->headers_in.headers.part; part; part = part->next) {
    auto* h = static_cast<ngx_table_elt_t*>(part->elts);
    for (ngx_uint_t i = 0; i < part->nelts; ++i)
      if (h[i].key.len == name.size() && ngx_strncasecmp(h[i].key.data, (u_char*)name.data(), name.size()) == 0)
        return view(h[i].value);
  }
  return {};
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

// The client's gateway key: "Authorization: Bearer <key>" (OpenAI SDKs, ANTHROPIC_AUTH_TOKEN) or
// "x-api-key: <key>" (ANTHROPIC_API_KEY); empty if neither.
std::string_view client_token(ngx_http_request_t* r) {
  if (r->headers_in.authorization) {
    std::string_view v = view(r->headers_in.authorization->value);
    if (v.size() >= 7 && ngx_strncasecmp((u_char*)v.data(), (u_char*)"bearer ", 7) == 0) {
      v = trim(v.substr(7));
      if (!v.empty()) return v;
    }
  }
  return trim(header_in(r, "x-api-key"));
}

std::string vendor_error_message(const std::string& body) {
  std::string msg, type;
  translate::read_vendor_error(body, msg, type);
  if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
  return msg;
}

class GatewayRequest final : public SnapshotWaiter {
 public:
  static ngx_int_t start(ngx_http_request_t* r);

  // `models`: GET /models; otherwise a POST to the endpoint of `api`.
  GatewayRequest(ngx_http_request_t* r, bool models, ClientApi api, std::string token);
  ~GatewayRequest();

  void on_snapshot_ready() override;

 private:
  static void on_body_read(ngx_http_request_t* r);
  static void on_wake(ngx_event_t* ev);
  static void on_timer(ngx_event_t* ev);
  static void on_client_write(ngx_http_request_t* r);

  void run();
  void answer_models();
  void answer_count_locally();
  // Whether the answer counts as usage and against quotas (token counting does not).
  bool metered() const { return api_ != ClientApi::kCountTokens; }
  void next_attempt();
  void begin_admission(const quota::Plan& plan);
  void on_admission();
  void on_key_admission(long long result);
  void on_admission_full(size_t index);
  bool start_call();
  quota::Cost actual_cost(const openai::Usage& u) const;
  void settle_quota(const quota::Cost& actual, bool delivered);
  void pump();
  void finish_attempt();
  void fail_attempt(AttemptRecord rec, const failover::Classification* cls = nullptr);
  void fail_all();
  void done(ngx_int_t rc);  // finalizes the request; `this` may be gone afterwards
  void respond(const ApiError& e, std::vector<std::pair<std::string, std::string>> extra = {}) {
    error_ = e.message;
    auto headers = trail_headers(false);
    headers.insert(headers.end(), extra.begin(), extra.end());
    done(send_error(r_, api_, e, headers));
  }
  // Adds an attempt's usage to the provider's counters (metered endpoints) and to the request's total.
  void charge(const std::string& provider_id, const usage::Counters& u);
  void settle_key_budget();
  void write_log_record();
  bool commit_stream();
  ngx_int_t output(std::string_view data, bool last);
  bool client_busy() const { return busy_ != nullptr; }
  bool arm_client_write();
  void arm_timer(ngx_msec_t ms) { ngx_add_timer(&timer_, ms); }
  AttemptRecord record_for_current() const;
  std::vector<std::pair<std::string, std::string>> trail_headers(bool ok,
                                                                 const std::vector<AttemptRecord>* trail = nullptr) const;
  std::string skipped_header() const;  // "p1=parked:quota;p2=circuit_open": why others were passed over
  void log_outcome(const char* outcome) const;

  ngx_http_request_t* r_;
  ngx_http_lingmo_loc_conf_t* lcf_;
  bool models_;
  std::string model_id_;  // GET …/models/{id}
  ClientApi api_;
  std::string request_id_;  // Anthropic clients get one as request-id (minted only for them)
  int64_t started_ms_ = 0;
  int64_t first_byte_ms_ = -1;   // when the answer's first byte went to the client
  usage::Counters spent_;        // every attempt's usage together (request log, key usage)
  std::string error_;            // the message of the error the client got
  std::string client_ip_, user_agent_;
  const config::GatewayKey* key_ = nullptr;  // valid while snap_ is held
  std::string token_;
  std::string body_in_;
  bool waiting_ = false;
  bool snapshot_ready_ = false;

  std::shared_ptr<const config::Snapshot> snap_;
  translate::ClientRequest req_;
  routing::Route route_;
  size_t next_ = 0;
  std::vector<AttemptRecord> tried_;
  int64_t retry_after_ms_ = -1;  // the soonest a rate-limited vendor said to retry; -1 = none said

  // The current attempt.
  std::unique_ptr<VendorCall> call_;
  const routing::Candidate* cand_ = nullptr;
  bool first_byte_seen_ = false;
  sse::Framer framer_;
  std::unique_ptr<translate::Translator> xlate_;  // the current attempt's (translate/translator.h)
  std::vector<sse::Event> events_;
  std::string resp_;  // non-stream body or vendor error body
  std::string held_;  // relayed stream bytes held back until the first substantive event

  bool committed_ = false;  // response headers sent: failover is no longer possible

  // Quota admission of the current attempt (quota/admission.h).
  static constexpr long long kAdmissionPending = -2;
  quota::Cost estimate_;
  quota::Plan plan_;
  bool reserved_ = false;
  bool admitting_ = false;
  bool admitting_key_ = false;  // the admission under way is the gateway key's budget
  quota::Plan key_plan_;        // the key's budgets (reserved once per request)
  bool key_reserved_ = false;
  long long admission_result_ = kAdmissionPending;
  uint64_t admission_seq_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // Redis callbacks check it
  ngx_event_t wake_{};
  ngx_event_t timer_{};
  ngx_chain_t* free_ = nullptr;
  ngx_chain_t* busy_ = nullptr;
};

GatewayRequest* ctx_of(ngx_http_request_t* r) {
  return static_cast<GatewayRequest*>(ngx_http_get_module_ctx(r, ngx_http_lingmo_module));
}

void destroy_ctx(void* data) { delete static_cast<GatewayRequest*>(data); }

GatewayRequest::GatewayRequest(ngx_http_request_t* r, bool models, ClientApi api, std::string token)
    : r_(r), lcf_(static_cast<ngx_http_lingmo_loc_conf_t*>(ngx_http_get_module_loc_conf(r, ngx_http_lingmo_module))),
      models_(models), api_(api), token_(std::move(token)) {
  request_id_ = translate::mint_id("req_");  // sent back to Anthropic clients only; logged for all
  started_ms_ = now_ms();
  // Copied now: header values live in the connection's buffers, which may be gone (a keep-alive
  // connection reusing them) when the request's pool is cleaned up and the log record written.
  client_ip_ = str(r->connection->addr_text);
  if (r->headers_in.user_agent) user_agent_ = str(r->headers_in.user_agent->value).substr(0, 200);
  wake_.data = r;
  wake_.handler = &GatewayRequest::on_wake;
  wake_.log = r->connection->log;
  timer_.data = r;
  timer_.handler = &GatewayRequest::on_timer;
  timer_.log = r->connection->log;
  // Not cancelable: a gracefully exiting worker waits for live streams to finish.
}

GatewayRequest::~GatewayRequest() {
  if (waiting_ && Worker::instance()) Worker::instance()->cancel_wait(this);
  if (timer_.timer_set) ngx_del_timer(&timer_);
  unpost(&wake_);
  if (call_ && cand_ && Worker::instance()) {
    // The client went away mid-call: charge what was relayed, release the rest of the reservation.
    Worker::instance()->abandon(cand_->provider->cfg.id);
    quota::Cost spent = actual_cost(xlate_ ? xlate_->usage() : openai::Usage{});
    usage::Counters u;
    if (committed_) u = spent;
    u.requests = 1;
    charge(cand_->provider->cfg.id, u);
    settle_quota(spent, committed_);
    AttemptRecord rec = record_for_current();
    rec.failure = Failure::kInterrupted;
    rec.detail = "the client went away";
    tried_.push_back(std::move(rec));
    if (error_.empty()) error_ = "the client closed the connection";
  }
  call_.reset();  // a client that went away cancels the vendor call here
  if (Worker::instance() && !models_) {
    settle_key_budget();
    if (Worker::instance()->request_log_on()) write_log_record();  // (no record built when it is off)
  }
}

void GatewayRequest::charge(const std::string& provider_id, const usage::Counters& u) {
  if (!metered()) return;
  Worker::instance()->record_usage(provider_id, u);
  spent_.add(u);
}

// The key's reservation becomes what the request really used (or is returned if nothing was
// delivered), and the key's daily usage is counted.
void GatewayRequest::settle_key_budget() {
  if (!key_ || !metered()) return;
  usage::Counters total = spent_;
  total.requests = 1;
  total.failures = r_->headers_out.status >= 400 ? 1 : 0;
  Worker::instance()->record_counter(schema::key_usage_key(key_->id, usage::utc_day(started_ms_)), total, 0);
  if (key_plan_.empty()) return;
  bool delivered = committed_ || (r_->headers_out.status > 0 && r_->headers_out.status < 400);
  quota::Cost delta = key_reserved_ ? quota::correction(key_plan_.estimate, total, delivered) : (delivered ? total : quota::Cost{});
  for (const auto& item : key_plan_.items) Worker::instance()->record_counter(item.key, delta, item.ttl_s);
  key_plan_ = quota::Plan{};
}

void GatewayRequest::write_log_record() {
  usage::RequestRecord rec;
  rec.ts_ms = started_ms_;
  rec.id = request_id_;
  if (key_) {
    rec.key_id = key_->id;
    rec.key_name = key_->name;
  }
  rec.api = translate::api_name(api_);
  rec.model = req_.model;
  rec.stream = req_.stream;
  rec.status = static_cast<int>(r_->headers_out.status);
  if (rec.status == 0) rec.status = 499;  // nothing was sent: the client left first (nginx's code)
  if (!tried_.empty() && tried_.back().failure == Failure::kNone) {
    rec.provider = tried_.back().provider_id;
    rec.upstream_model = tried_.back().upstream_model;
  }
  rec.latency_ms = now_ms() - started_ms_;
  rec.ttfb_ms = first_byte_ms_ >= 0 ? first_byte_ms_ - started_ms_ : -1;
  rec.usage = spent_;
  rec.error = error_;
  rec.attempts = tried_;
  rec.skipped = route_.skipped;
  rec.client_ip = std::move(client_ip_);
  rec.user_agent = std::move(user_agent_);
  Worker::instance()->log_request(usage::to_json(rec));
}

ngx_int_t GatewayRequest::start(ngx_http_request_t* r) {
  std::string_view uri = view(r->uri);
  bool models = ends_with(uri, kModelsSuffix);
  // GET …/models/{id} (the SDKs' models.retrieve): one entry of the list.
  std::string model_id;
  if (size_t at = uri.rfind("/models/"); !models && at != std::string_view::npos && at + 8 < uri.size() &&
                                          uri.find('/', at + 8) == std::string_view::npos) {
    models = true;
    model_id = std::string(uri.substr(at + 8));
  }
  ClientApi api = ClientApi::kChat;
  bool known = models;
  for (const auto& e : kEndpoints)
    if (!known && ends_with(uri, e.suffix)) {
      api = e.api;
      known = true;
    }
  // Errors take the dialect of the endpoint. An Anthropic-looking request to /models or to an
  // unknown path gets Anthropic's shapes too (Claude Code reports a bare 404 as "model may not
  // exist" and parses only Anthropic's model list).
  if ((models || !known) && (!header_in(r, "anthropic-version").empty() || !header_in(r, "x-api-key").empty()))
    api = ClientApi::kMessages;  // (the header scans run only for these requests, not for every chat call)
  if (!known) {
    ApiError e{404, "invalid_request_error", "unknown_url",
               "Unknown request URL: " + str(r->method_name) + " " + std::string(uri) + ".", ""};
    return send_early_error(r, api, e);
  }
  bool method_ok = models ? (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD)) : (r->method & NGX_HTTP_POST);
  if (!method_ok) {
    ApiError e{405, "invalid_request_error", "method_not_allowed",
               "Method " + str(r->method_name) + " is not allowed for " + std::string(uri) + "; use " +
                   (models ? "GET" : "POST") + ".", ""};
    return send_early_error(r, api, e, {{"Allow", models ? "GET, HEAD" : "POST"}});
  }
  std::string_view token = client_token(r);
  if (token.empty()) {
    ApiError e{401, "invalid_request_error", "", translate::is_anthropic_dialect(api)
               ? "No API key: send your gateway key in the x-api-key header or as Authorization: Bearer."
               : "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                 "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", ""};
    return send_early_error(r, api, e);
  }
  if (!Worker::instance()) return NGX_HTTP_INTERNAL_SERVER_ERROR;

  auto* cln = ngx_pool_cleanup_add(r->pool, 0);
  if (!cln) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  auto* ctx = new GatewayRequest(r, models, api, std::string(token));
  ctx->model_id_ = std::move(model_id);
  if (translate::is_anthropic_dialect(api)) {
    ctx->req_.anthropic_version = std::string(header_in(r, "anthropic-version"));
    ctx->req_.anthropic_beta = std::string(header_in(r, "anthropic-beta"));
  }
  cln->handler = destroy_ctx;
  cln->data = ctx;
  ngx_http_set_ctx(r, ctx, ngx_http_lingmo_module);

  if (models) {
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    r->main->count++;
    ctx->run();
    return NGX_DONE;
  }
  // A body over client_max_body_size never gets here: nginx answers 413 itself, and
  // error_filter.cpp turns that page into an error in the endpoint's dialect.
  r->request_body_in_single_buf = 1;
  ngx_int_t rc = ngx_http_read_client_request_body(r, &GatewayRequest::on_body_read);
  if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
    r->keepalive = 0;
    ApiError e{static_cast<int>(rc), "invalid_request_error", rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE ? "request_too_large" : "",
               "Could not read the request body (HTTP " + std::to_string(rc) + ").", ""};
    return send_error(r, api, e);
  }
  return NGX_DONE;
}

void GatewayRequest::on_body_read(ngx_http_request_t* r) {
  GatewayRequest* self = ctx_of(r);
  try {
    if (r->request_body) {
      for (ngx_chain_t* cl = r->request_body->bufs; cl; cl = cl->next) {
        ngx_buf_t* b = cl->buf;
        if (b->in_file) {  // large bodies spill to a temp file (client_body_buffer_size)
          size_t n = static_cast<size_t>(b->file_last - b->file_pos);
          std::string part(n, '\0');
          ssize_t got = ngx_read_file(b->file, reinterpret_cast<u_char*>(part.data()), n, b->file_pos);
          if (got != static_cast<ssize_t>(n)) {
            self->done(NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
          }
          self->body_in_ += part;
        } else {
          self->body_in_.append(reinterpret_cast<const char*>(b->pos), static_cast<size_t>(b->last - b->pos));
        }
      }
    }
    // From here on a client that closes its connection ends the request (and the vendor call).
    r->read_event_handler = ngx_http_test_reading;
    self->run();
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "lingmo: %s", e.what());
    self->done(NGX_HTTP_INTERNAL_SERVER_ERROR);
  }
}

void GatewayRequest::on_snapshot_ready() {
  waiting_ = false;
  snapshot_ready_ = true;
  post(&wake_);
}

void GatewayRequest::run() {
  snap_ = Worker::instance()->snapshot();
  if (!snap_) {
    if (!snapshot_ready_) {  // first moments of a worker: wait for the first snapshot, bounded
      waiting_ = true;
      Worker::instance()->wait_for_snapshot(this);
      arm_timer(lcf_->config_wait);
      return;
    }
    respond(ApiError{503, "service_unavailable", "config_unavailable",
                     "The gateway has not loaded its configuration (is Redis reachable?).", ""});
    return;
  }
  if (timer_.timer_set) ngx_del_timer(&timer_);
  const config::GatewayKey* key = snap_->find_key(token_);
  if (!key || !key->enabled) {
    respond(ApiError{401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: " + secret::mask(token_) + ".", ""});
    return;
  }
  key_ = key;
  if (models_) {
    answer_models();
    return;
  }
  ApiError err;
  if (!translate::parse_client_request(api_, body_in_, req_, err)) {
    respond(err);
    return;
  }
  estimate_ = quota::estimate_chat(body_in_.size(), req_.max_output_tokens);
  body_in_.clear();
  body_in_.shrink_to_fit();
  route_ = routing::route(*snap_, req_.model, *key, now_ms(), &Worker::instance()->overlay());
  if (!route_.model_allowed || !route_.model_known) {
    respond(ApiError{404, "invalid_request_error", "model_not_found",
                     "The model `" + req_.model + "` does not exist or you do not have access to it.", "model"});
    return;
  }
  if (api_ == ClientApi::kCountTokens &&
      (route_.candidates.empty() || route_.candidates.front().provider->cfg.dialect != "anthropic")) {
    answer_count_locally();  // only Anthropic vendors count tokens the Anthropic way
    return;
  }
  if (metered() && !key->budgets.empty()) {
    key_plan_ = quota::key_plan(*key, estimate_, now_ms());
    admitting_key_ = true;
    begin_admission(key_plan_);  // continues in on_key_admission()
    return;
  }
  next_attempt();
}

// The key's budgets were checked (and the estimate reserved) in Redis: go on, or refuse with the
// budget that is used up. Redis not answering in time admits (fail open, like provider quotas).
void GatewayRequest::on_key_admission(long long result) {
  if (result > 0 && static_cast<size_t>(result) <= key_plan_.items.size()) {
    const quota::PlanItem full = key_plan_.items[static_cast<size_t>(result) - 1];  // a copy: the plan is cleared next
    key_plan_ = quota::Plan{};
    std::vector<std::pair<std::string, std::string>> extra;
    std::string when;
    if (full.window_end_ms) {
      int64_t wait_s = std::max<int64_t>(1, (full.window_end_ms - now_ms() + 999) / 1000);
      extra.emplace_back("Retry-After", std::to_string(wait_s));
      when = "; it renews in " + std::to_string(wait_s) + " s";
    }
    return respond(ApiError{429, "insufficient_quota", "key_budget_exceeded",
                            "This gateway key has used up its budget of " + full.describe + when + ".", ""},
                   std::move(extra));
  }
  key_reserved_ = result == 0;
  next_attempt();
}

void GatewayRequest::answer_count_locally() {
  std::string body = "{\"input_tokens\":" + std::to_string(translate::estimate_input_tokens(req_)) + "}";
  auto headers = trail_headers(true);
  headers.emplace_back("X-LingMo-Count", "estimate");
  done(send_whole(r_, NGX_HTTP_OK, body, headers));
}

void GatewayRequest::answer_models() {
  const config::GatewayKey* key = snap_->find_key(token_);
  auto names = routing::list_models(*snap_, *key);
  bool anthropic = translate::is_anthropic_dialect(api_);
  if (!model_id_.empty()) {
    if (std::find(names.begin(), names.end(), model_id_) == names.end())
      return respond(ApiError{404, "invalid_request_error", "model_not_found",
                              "The model `" + model_id_ + "` does not exist or you do not have access to it.", "model"});
    std::string one = anthropic ? "{\"type\":\"model\",\"id\":" + json::quote(model_id_) + ",\"display_name\":" +
                                      json::quote(model_id_) + ",\"created_at\":\"1970-01-01T00:00:00Z\"}"
                                : "{\"id\":" + json::quote(model_id_) + ",\"object\":\"model\",\"created\":0,\"owned_by\":\"lingmo\"}";
    return done(send_whole(r_, NGX_HTTP_OK, one, trail_headers(true)));
  }
  std::string body;
  if (anthropic) {
    // Anthropic's shape: Claude Code's gateway model discovery reads data[].id/display_name.
    body = "{\"data\":[";
    for (size_t i = 0; i < names.size(); ++i)
      body += std::string(i ? "," : "") + "{\"type\":\"model\",\"id\":" + json::quote(names[i]) +
              ",\"display_name\":" + json::quote(names[i]) + ",\"created_at\":\"1970-01-01T00:00:00Z\"}";
    body += "],\"has_more\":false,\"first_id\":" + (names.empty() ? std::string("null") : json::quote(names.front())) +
            ",\"last_id\":" + (names.empty() ? std::string("null") : json::quote(names.back())) + "}";
  } else {
    body = "{\"object\":\"list\",\"data\":[";
    for (size_t i = 0; i < names.size(); ++i)
      body += std::string(i ? "," : "") + "{\"id\":" + json::quote(names[i]) +
              ",\"object\":\"model\",\"created\":0,\"owned_by\":\"lingmo\"}";
    body += "]}";
  }
  done(send_whole(r_, NGX_HTTP_OK, body, trail_headers(true)));
}

void GatewayRequest::next_attempt() {
  while (true) {
    if (next_ >= route_.candidates.size() || tried_.size() >= lcf_->max_attempts) {
      fail_all();
      return;
    }
    cand_ = &route_.candidates[next_++];
    const std::string& pid = cand_->provider->cfg.id;
    auto dialect = translate::parse_dialect(cand_->provider->cfg.dialect);
    if (!dialect || !translate::Translator::supports(api_, *dialect)) {
      route_.skipped.push_back({pid, "its " + cand_->provider->cfg.dialect + " dialect has no such endpoint", "unsupported_endpoint"});
      continue;
    }
    if (!Worker::instance()->admit(pid, now_ms())) {
      route_.skipped.push_back({pid, "circuit open after repeated failures", "circuit_open"});
      continue;
    }
    const config::Settings& settings = snap_->config().settings;
    plan_ = settings.auto_switch && metered() ? quota::plan(*cand_->provider, req_.model, estimate_, now_ms(), settings.threshold)
                                 : quota::Plan{};
    reserved_ = false;
    if (!plan_.empty()) {
      begin_admission(plan_);  // continues in on_admission()
      return;
    }
    if (start_call()) return;
  }
}

// Asks Redis to admit and reserve this attempt against the provider's quota rules, bounded by
// lingmo_quota_deadline: a Redis that is down or slow never stalls the request (fail open).
void GatewayRequest::begin_admission(const quota::Plan& plan_in) {
  admitting_ = true;
  admission_result_ = kAdmissionPending;
  uint64_t seq = ++admission_seq_;
  std::weak_ptr<bool> alive = alive_;
  arm_timer(lcf_->quota_deadline);
  Worker::instance()->admit_quota(plan_in, [this, alive, seq, plan = plan_in](long long result) {
    if (alive.expired() || !admitting_ || seq != admission_seq_) {
      // The request is gone or went ahead without waiting: a reservation made now is returned.
      if (result == 0 && Worker::instance())
        for (const auto& item : plan.items)
          Worker::instance()->record_counter(item.key, quota::correction(plan.estimate, {}, false), item.ttl_s);
      return;
    }
    admission_result_ = result;
    post(&wake_);
  });
}

void GatewayRequest::on_admission() {
  admitting_ = false;
  if (timer_.timer_set) ngx_del_timer(&timer_);
  long long result = admission_result_;
  if (admitting_key_) {
    admitting_key_ = false;
    return on_key_admission(result);
  }
  const std::string& pid = cand_->provider->cfg.id;
  if (result > 0 && static_cast<size_t>(result) <= plan_.items.size()) return on_admission_full(static_cast<size_t>(result));
  reserved_ = result == 0;
  if (result < 0) {
    // Redis did not answer in time: fail open, but bounded — this worker alone never admits more
    // than a cap per window (docs/QUOTA.md).
    long long local = Worker::instance()->admit_locally(plan_);
    ngx_log_error(NGX_LOG_WARN, r_->connection->log, 0, "lingmo: quota admission for %s got no answer from Redis; "
                  "%s locally", pid.c_str(), local == 0 ? "admitted" : "refused");
    if (local > 0) return on_admission_full(static_cast<size_t>(local));
  }
  if (!start_call()) next_attempt();
}

// Rule `index` (1-based) of the plan is at its threshold: pass the provider over until that
// window resets, on every worker and node.
void GatewayRequest::on_admission_full(size_t index) {
  const std::string& pid = cand_->provider->cfg.id;
  const quota::PlanItem& full = plan_.items[index - 1];
  config::ProviderState st;
  st.kind = "threshold";
  st.reason = "reached the switch threshold of " + full.describe;
  if (full.window_end_ms) {
    st.unusable_until_ms = full.window_end_ms;
  } else {  // a one-off grant: until the provider is edited (e.g. a new grant entered)
    st.unusable_until_ms = now_ms() + 365LL * 24 * 3600 * 1000;
    st.fingerprint = cand_->provider->fingerprint;
  }
  Worker::instance()->set_state(pid, st);
  route_.skipped.push_back({pid, st.reason, "over_threshold"});
  plan_ = quota::Plan{};
  next_attempt();
}

// Starts the vendor call for cand_. False (with the failure recorded) if it could not start.
bool GatewayRequest::start_call() {
  const std::string& pid = cand_->provider->cfg.id;
  {
    first_byte_seen_ = false;
    framer_ = sse::Framer();
    held_.clear();
    resp_.clear();
    auto dialect = translate::parse_dialect(cand_->provider->cfg.dialect);  // checked in next_attempt()
    xlate_ = std::make_unique<translate::Translator>(req_, dialect.value_or(translate::VendorDialect::kOpenAI),
                                                     now_ms() / 1000, cand_->provider->cfg.responses_api);
    translate::VendorRequest vr = xlate_->request({&cand_->provider->cfg, cand_->upstream_model});
    const auto& mcf = Worker::instance()->conf();
    CallSettings s{lcf_->connect_timeout, str(mcf.ca_bundle), mcf.tls_verify != 0};
    call_ = std::make_unique<VendorCall>(Worker::instance()->curl(), &wake_);
    std::string error;
    if (call_->start(cand_->provider->cfg, cand_->provider->api_key, vr.path, std::move(vr.body), vr.headers,
                     req_.stream, s, error)) {
      arm_timer(lcf_->first_byte_timeout);
      return true;
    }
    call_.reset();
    Worker::instance()->abandon(pid);
    settle_quota(quota::Cost{}, false);
    AttemptRecord rec{pid, cand_->upstream_model, Failure::kConnect, 0, error};
    tried_.push_back(rec);
  }
  return false;
}

// What the attempt cost, for the quota counters: the vendor's usage, or for a stream cut short the
// prompt estimate plus the text actually relayed (~4 characters a token).
quota::Cost GatewayRequest::actual_cost(const openai::Usage& u) const {
  quota::Cost c;
  c.requests = 1;
  if (u.present) {
    c.prompt_tokens = u.prompt_tokens;
    c.completion_tokens = u.completion_tokens;
    c.total_tokens = u.total_tokens;
  } else {
    c.prompt_tokens = estimate_.prompt_tokens;
    c.completion_tokens = xlate_ ? (xlate_->streamed_chars() + 3) / 4 : 0;
    c.total_tokens = c.prompt_tokens + c.completion_tokens;
  }
  c.cost_micros = cand_->provider->cfg.cost_micros(c.prompt_tokens, c.completion_tokens);
  return c;
}

// Settles the attempt's quota reservation: corrects it to the actual cost, or refunds it when the
// vendor delivered nothing. Without a reservation (Redis did not answer), adds what was delivered.
void GatewayRequest::settle_quota(const quota::Cost& actual, bool delivered) {
  if (plan_.empty()) return;
  quota::Cost delta = reserved_ ? quota::correction(plan_.estimate, actual, delivered) : (delivered ? actual : quota::Cost{});
  for (const auto& item : plan_.items) Worker::instance()->record_counter(item.key, delta, item.ttl_s);
  plan_ = quota::Plan{};
  reserved_ = false;
}

void GatewayRequest::on_wake(ngx_event_t* ev) {
  auto* r = static_cast<ngx_http_request_t*>(ev->data);
  ngx_connection_t* c = r->connection;
  try {
    GatewayRequest* self = ctx_of(r);
    if (self->snapshot_ready_ && !self->snap_) {
      self->run();
    } else if (self->admitting_) {
      if (self->admission_result_ != kAdmissionPending) self->on_admission();
    } else {
      self->pump();
    }
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, c->log, 0, "lingmo: %s", e.what());
    ngx_http_finalize_request(r, NGX_ERROR);
  }
  ngx_http_run_posted_requests(c);
}

void GatewayRequest::pump() {
  if (!call_) return;
  VendorCall& c = *call_;
  if (c.first_byte && !first_byte_seen_) first_byte_seen_ = true;
  if (c.got_data && first_byte_seen_) {
    c.got_data = false;
    arm_timer(lcf_->idle_timeout);  // re-armed on every delivery: bounds the gap between chunks
  }
  bool relaying = req_.stream && c.status() == 200;
  if (!c.inbox.empty()) {
    if (relaying) {
      if (client_busy()) {
        if (timer_.timer_set) ngx_del_timer(&timer_);  // see the end of pump()
        return;
      }
      std::string in;
      in.swap(c.inbox);
      events_.clear();
      bool framed = framer_.feed(in, events_);
      std::string out;
      for (auto& ev : events_) {
        secret::redact(ev.data, cand_->provider->api_key);  // (an error event may quote it)
        auto st = xlate_->on_event(ev, out);
        if (st != translate::Status::kOk) {
          held_ += out;
          if (committed_ && !held_.empty() && output(held_, false) == NGX_ERROR) return done(NGX_ERROR);
          AttemptRecord rec = record_for_current();
          rec.status = 200;
          rec.failure = st == translate::Status::kMalformed ? Failure::kMalformed : Failure::kServer;
          rec.detail = xlate_->error();
          return fail_attempt(std::move(rec));
        }
      }
      if (!framed) {
        AttemptRecord rec = record_for_current();
        rec.status = 200;
        rec.failure = Failure::kMalformed;
        rec.detail = "stream event exceeds the size limit";
        return fail_attempt(std::move(rec));
      }
      held_ += out;
      if (!held_.empty() && (committed_ || xlate_->substantive())) {
        if (!committed_ && !commit_stream()) return;
        std::string send;
        send.swap(held_);
        if (output(send, false) == NGX_ERROR) return done(NGX_ERROR);
      }
    } else {
      resp_ += c.inbox;
      c.inbox.clear();
      if (resp_.size() > lcf_->max_response_size) {
        AttemptRecord rec = record_for_current();
        rec.failure = Failure::kMalformed;
        rec.detail = "response larger than lingmo_max_response_size";
        return fail_attempt(std::move(rec));
      }
    }
  }
  if (c.finished) {
    if (c.inbox.empty()) finish_attempt();
    return;
  }
  if (client_busy()) {
    // The vendor is (or will be) paused for the client's sake: its silence is not a stall.
    // send_timeout on the client connection bounds this wait; on_client_write re-arms ours.
    if (timer_.timer_set) ngx_del_timer(&timer_);
  } else {
    c.resume();
  }
}

AttemptRecord GatewayRequest::record_for_current() const {
  AttemptRecord rec;
  rec.provider_id = cand_->provider->cfg.id;
  rec.upstream_model = cand_->upstream_model;
  return rec;
}

void GatewayRequest::finish_attempt() {
  VendorCall& c = *call_;
  AttemptRecord rec = record_for_current();
  // Some vendors quote the key they were sent in their errors: from here on (the client's answer,
  // park reasons, logs, alerts) only its masked form exists.
  secret::redact(resp_, cand_->provider->api_key);
  long status = c.status();
  openai::Usage usage;
  if (c.result != CURLE_OK) {
    rec.failure = first_byte_seen_ ? Failure::kInterrupted : Failure::kConnect;
    rec.detail = c.error_text();
    if (xlate_) usage = xlate_->usage();
  } else if (req_.stream && status == 200) {
    // The vendor closed the stream: Gemini ends answers so; the translator writes the ending.
    std::string tail;
    translate::Status st = xlate_->on_end(tail);
    held_ += tail;
    usage = xlate_->usage();
    if (st != translate::Status::kOk) {
      rec.failure = Failure::kMalformed;
      rec.detail = xlate_->error();
    } else if (!xlate_->complete()) {
      rec.failure = Failure::kInterrupted;
      rec.detail = "the stream ended before the answer did";
    }
  } else if (status >= 200 && status < 300) {
    std::string translated;
    switch (xlate_->on_body(resp_, translated)) {
      case translate::BodyKind::kAnswer:
        usage = xlate_->usage();
        resp_.swap(translated);
        break;
      case translate::BodyKind::kError:
        rec.failure = Failure::kServer;
        rec.detail = vendor_error_message(resp_);
        break;
      case translate::BodyKind::kMalformed:
        rec.failure = Failure::kMalformed;
        rec.detail = xlate_->error().empty() ? "the response body is not a valid answer" : xlate_->error();
        break;
    }
  } else {
    failover::Classification cls = failover::SignatureTable::builtin().classify(
        status < 400 ? 502 : status, resp_, c.hint_headers, cand_->provider->cfg.vendor, now_ms());
    rec.failure = status < 400 ? Failure::kMalformed : failover::from_class(cls.cls);
    rec.detail = cls.message.empty() ? cls.note : cls.message;
    rec.status = status;
    return fail_attempt(std::move(rec), &cls);
  }
  rec.status = status;
  if (rec.failure != Failure::kNone) return fail_attempt(std::move(rec));

  quota::Cost spent = actual_cost(usage);
  charge(rec.provider_id, spent);
  settle_quota(spent, true);
  Worker::instance()->report(*cand_->provider, Failure::kNone, nullptr, c.hint_headers, now_ms());
  tried_.push_back(std::move(rec));
  if (timer_.timer_set) ngx_del_timer(&timer_);
  call_.reset();
  log_outcome("ok");
  if (req_.stream) {
    if (!committed_ && !commit_stream()) return;  // a stream with no content at all
    std::string rest;
    rest.swap(held_);
    return done(output(rest, true));
  }
  auto headers = trail_headers(true);
  std::string body;
  body.swap(resp_);
  done(send_whole(r_, NGX_HTTP_OK, body, headers));
}

void GatewayRequest::fail_attempt(AttemptRecord rec, const failover::Classification* cls) {
  secret::redact(rec.detail, cand_->provider->api_key);
  // A stream that reached the client consumed tokens even if it broke: charge what was relayed.
  quota::Cost spent = actual_cost(xlate_ ? xlate_->usage() : openai::Usage{});
  usage::Counters u;
  if (committed_ || (xlate_ && xlate_->usage().present)) u = spent;
  u.requests = 1;
  u.failures = 1;
  charge(rec.provider_id, u);
  settle_quota(spent, committed_);
  if (cls && rec.failure == Failure::kRateLimited && cls->retry_after_ms >= 0 &&
      (retry_after_ms_ < 0 || cls->retry_after_ms < retry_after_ms_))
    retry_after_ms_ = cls->retry_after_ms;
  Worker::instance()->report(*cand_->provider, rec.failure, cls, call_ ? call_->hint_headers : std::map<std::string, std::string>{},
                             now_ms());
  if (timer_.timer_set) ngx_del_timer(&timer_);
  call_.reset();
  ngx_log_error(NGX_LOG_WARN, r_->connection->log, 0, "lingmo: attempt failed: %s", failover::describe(rec).c_str());
  Failure f = rec.failure;
  tried_.push_back(std::move(rec));
  if (committed_) {
    // Bytes already reached the client: end the stream with an error chunk and no [DONE].
    ApiError e{502, "upstream_error", "stream_interrupted",
               "The upstream stream failed after it had started: " + failover::describe(tried_.back()), ""};
    log_outcome("interrupted");
    error_ = e.message;
    return done(output(translate::render_stream_error(api_, e), true));
  }
  if (f == Failure::kClientError) {
    // The vendor says the request itself is wrong; another vendor would say the same. A vendor
    // of the client's own dialect is quoted verbatim; any other is reworded into it.
    long status = tried_.back().status;
    std::string message, type;
    bool vendor_json = translate::read_vendor_error(resp_, message, type);
    const std::string& dialect = cand_->provider->cfg.dialect;
    bool same_dialect = dialect == (translate::is_anthropic_dialect(api_) ? "anthropic" : "openai") && api_ != ClientApi::kResponses;
    log_outcome("client_error");
    error_ = !message.empty() ? message : tried_.back().detail;
    if (vendor_json && same_dialect)
      return done(send_whole(r_, static_cast<ngx_uint_t>(status), resp_, trail_headers(false)));
    ApiError e = openai::invalid_request(!message.empty() ? message : (tried_.back().detail.empty() ? "The vendor rejected the request." : tried_.back().detail));
    e.status = static_cast<int>(status);
    return respond(e);
  }
  next_attempt();
}

void GatewayRequest::fail_all() {
  if (api_ == ClientApi::kCountTokens) return answer_count_locally();  // a count is never worth an error
  bool capped = next_ < route_.candidates.size();
  log_outcome("failed");
  ApiError e = failover::final_error(req_.model, tried_, route_.skipped, capped);
  error_ = e.message;
  auto headers = trail_headers(false);
  if (e.status == 429 && e.code != "insufficient_quota") {  // every vendor rate limited: when to come back
    int64_t wait = retry_after_ms_;
    for (const auto& s : route_.skipped)
      if (s.code == "parked:rate_limited" && s.until_ms > 0 && (wait < 0 || s.until_ms - now_ms() < wait))
        wait = std::max<int64_t>(0, s.until_ms - now_ms());
    if (wait >= 0) headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, (wait + 999) / 1000)));
  }
  done(send_error(r_, api_, e, headers));
}

void GatewayRequest::on_timer(ngx_event_t* ev) {
  auto* r = static_cast<ngx_http_request_t*>(ev->data);
  ngx_connection_t* c = r->connection;
  try {
    GatewayRequest* self = ctx_of(r);
    if (self->admitting_) {  // Redis too slow: admit without a reservation
      self->admission_result_ = -1;
      self->on_admission();
    } else if (self->waiting_) {
      self->waiting_ = false;
      Worker::instance()->cancel_wait(self);
      self->respond(ApiError{503, "service_unavailable", "config_unavailable",
                             "The gateway could not load its configuration in time (is Redis reachable?).", ""});
    } else if (self->call_) {
      AttemptRecord rec = self->record_for_current();
      bool idle = self->first_byte_seen_;
      rec.failure = idle ? Failure::kIdleTimeout : Failure::kFirstByteTimeout;
      rec.detail = "no data for " + std::to_string(idle ? self->lcf_->idle_timeout : self->lcf_->first_byte_timeout) + " ms";
      self->fail_attempt(std::move(rec));
    }
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, c->log, 0, "lingmo: %s", e.what());
    ngx_http_finalize_request(r, NGX_ERROR);
  }
  ngx_http_run_posted_requests(c);
}

std::string GatewayRequest::skipped_header() const {
  std::string s;
  for (const auto& k : route_.skipped) s += (s.empty() ? "" : ";") + k.provider_id + "=" + k.code;
  return s;
}

// The debugging headers every answer carries: who answered, who was tried, who was passed over.
// `trail` defaults to the finished attempts; a stream commits while its attempt is still running.
std::vector<std::pair<std::string, std::string>> GatewayRequest::trail_headers(bool ok,
                                                                                const std::vector<AttemptRecord>* trail) const {
  const std::vector<AttemptRecord>& t = trail ? *trail : tried_;
  std::vector<std::pair<std::string, std::string>> h;
  if (translate::is_anthropic_dialect(api_)) h.emplace_back("request-id", request_id_);  // Anthropic SDKs expose it
  if (Worker::instance() && Worker::instance()->degraded()) h.emplace_back("X-LingMo-Degraded", "redis-unavailable");
  if (!route_.skipped.empty()) h.emplace_back("X-LingMo-Skipped", skipped_header());
  if (t.empty()) return h;
  if (ok) h.emplace_back("X-LingMo-Provider", t.back().provider_id);
  h.emplace_back("X-LingMo-Attempts", failover::attempts_header(t, ok));
  return h;
}

bool GatewayRequest::commit_stream() {
  r_->headers_out.status = NGX_HTTP_OK;
  ngx_str_set(&r_->headers_out.content_type, "text/event-stream");
  r_->headers_out.content_type_len = r_->headers_out.content_type.len;
  r_->headers_out.content_length_n = -1;
  std::vector<AttemptRecord> trail = tried_;
  trail.push_back(record_for_current());
  bool ok = add_header(r_, "Cache-Control", "no-cache") && add_header(r_, "X-Accel-Buffering", "no");
  for (const auto& [k, v] : trail_headers(true, &trail)) ok = ok && add_header(r_, k, v);
  ngx_int_t rc = ok ? ngx_http_send_header(r_) : NGX_ERROR;
  if (rc == NGX_ERROR || rc > NGX_OK) {
    done(rc);
    return false;
  }
  committed_ = true;
  first_byte_ms_ = now_ms();
  return true;
}

ngx_int_t GatewayRequest::output(std::string_view data, bool last) {
  ngx_chain_t* cl = ngx_chain_get_free_buf(r_->pool, &free_);
  if (!cl) return NGX_ERROR;
  ngx_buf_t* b = cl->buf;
  b->tag = reinterpret_cast<ngx_buf_tag_t>(&ngx_http_lingmo_module);
  if (!data.empty()) {
    if (!b->start || static_cast<size_t>(b->end - b->start) < data.size()) {
      size_t cap = std::max<size_t>(data.size(), 4096);
      b->start = static_cast<u_char*>(ngx_palloc(r_->pool, cap));
      if (!b->start) return NGX_ERROR;
      b->end = b->start + cap;
    }
    b->pos = b->start;
    b->last = ngx_cpymem(b->pos, data.data(), data.size());
    b->memory = 1;
  } else {
    b->pos = b->last = b->start;
    b->memory = 0;
  }
  b->flush = 1;  // every SSE event goes out now (postpone_output would hold small writes)
  b->last_buf = last && r_ == r_->main;
  b->last_in_chain = last;
  ngx_int_t rc = ngx_http_output_filter(r_, cl);
  ngx_chain_update_chains(r_->pool, &free_, &busy_, &cl, reinterpret_cast<ngx_buf_tag_t>(&ngx_http_lingmo_module));
  if (rc == NGX_ERROR) return rc;
  if (!last && client_busy() && !arm_client_write()) return NGX_ERROR;
  return rc;
}

bool GatewayRequest::arm_client_write() {
  r_->write_event_handler = &GatewayRequest::on_client_write;
  ngx_event_t* wev = r_->connection->write;
  auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(ngx_http_get_module_loc_conf(r_, ngx_http_core_module));
  if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) return false;
  if (!wev->ready && !wev->timer_set) ngx_add_timer(wev, clcf->send_timeout);
  return true;
}

void GatewayRequest::on_client_write(ngx_http_request_t* r) {
  GatewayRequest* self = ctx_of(r);
  ngx_event_t* wev = r->connection->write;
  if (wev->timedout) {  // the client stopped reading for send_timeout
    r->connection->timedout = 1;
    ngx_http_finalize_request(r, NGX_HTTP_REQUEST_TIME_OUT);
    return;
  }
  try {
    ngx_int_t rc = ngx_http_output_filter(r, nullptr);
    ngx_chain_t* none = nullptr;
    ngx_chain_update_chains(r->pool, &self->free_, &self->busy_, &none, reinterpret_cast<ngx_buf_tag_t>(&ngx_http_lingmo_module));
    if (rc == NGX_ERROR) return self->done(NGX_ERROR);
    if (self->client_busy()) {
      if (!self->arm_client_write()) self->done(NGX_ERROR);
      return;
    }
    if (wev->timer_set) ngx_del_timer(wev);
    if (self->call_) self->arm_timer(self->lcf_->idle_timeout);
    self->pump();
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "lingmo: %s", e.what());
    ngx_http_finalize_request(r, NGX_ERROR);
  }
}

void GatewayRequest::log_outcome(const char* outcome) const {
  std::string skipped;
  for (const auto& s : route_.skipped) skipped += (skipped.empty() ? "" : "; ") + s.provider_id + " (" + s.reason + ")";
  ngx_log_error(NGX_LOG_INFO, r_->connection->log, 0, "lingmo: %s model=%s attempts=%s skipped=%s", outcome,
                req_.model.c_str(), failover::attempts_header(tried_, std::string(outcome) == "ok").c_str(),
                skipped.empty() ? "-" : skipped.c_str());
}

void GatewayRequest::done(ngx_int_t rc) { ngx_http_finalize_request(r_, rc); }

}  // namespace
}  // namespace lingmo::ngx

ngx_int_t ngx_http_lingmo_handler(ngx_http_request_t* r) noexcept {
  try {
    return lingmo::ngx::GatewayRequest::start(r);
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "lingmo: %s", e.what());
  } catch (...) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "lingmo: unknown exception");
  }
  return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
