// Error-page filter: clients of the gateway are API clients, so an error that nginx itself
// produces in a `lingmo_gateway` location (the request was rejected before the module ran, e.g.
// 413 for a body over client_max_body_size) — or, in a server hosting the gateway, before any
// location was chosen (URI or headers too large) — is turned from nginx's HTML page into the error
// envelope of the endpoint's dialect (Anthropic's for /messages, OpenAI's elsewhere). It only touches special responses (r->err_status set by nginx); everything the
// gateway sends passes through untouched.
#include "error_filter.h"

#include <string>

#include "bridge.h"
#include "conf.h"
#include "openai/errors.h"
#include "translate/errors.h"

namespace {

ngx_http_output_header_filter_pt next_header_filter;
ngx_http_output_body_filter_pt next_body_filter;

bool applies(ngx_http_request_t* r) {
  if (r != r->main || r->err_status < NGX_HTTP_BAD_REQUEST) return false;
  auto* lcf = static_cast<ngx_http_lingmo_loc_conf_t*>(ngx_http_get_module_loc_conf(r, ngx_http_lingmo_module));
  if (lcf && lcf->enabled == 1) return true;
  // Refused while nginx was still reading the request head (URI or headers too large, bad
  // request line): the request never reached a location, so it carries the server's own
  // location configuration. In a server that hosts the gateway, those answers are JSON too.
  switch (r->err_status) {
    case NGX_HTTP_BAD_REQUEST:
    case NGX_HTTP_REQUEST_TIME_OUT:
    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
    case NGX_HTTP_REQUEST_HEADER_TOO_LARGE:
      break;
    default:
      return false;
  }
  auto* scf = static_cast<ngx_http_lingmo_srv_conf_t*>(ngx_http_get_module_srv_conf(r, ngx_http_lingmo_module));
  auto* cscf = static_cast<ngx_http_core_srv_conf_t*>(ngx_http_get_module_srv_conf(r, ngx_http_core_module));
  return scf && scf->has_gateway && cscf && r->loc_conf == cscf->ctx->loc_conf;
}

std::string json_for(ngx_http_request_t* r) {
  lingmo::openai::ApiError e;
  e.status = static_cast<int>(r->err_status);
  e.type = e.status >= 500 ? "server_error" : "invalid_request_error";
  switch (r->err_status) {
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE: {
      auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(ngx_http_get_module_loc_conf(r, ngx_http_core_module));
      e.code = "request_too_large";
      e.message = "The request body is too large: the limit is " + std::to_string(clcf->client_max_body_size) +
                  " bytes (client_max_body_size).";
      break;
    }
    case NGX_HTTP_BAD_REQUEST: e.message = "The request could not be parsed (bad HTTP)."; break;
    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
      e.code = "request_too_large";
      e.message = "The request URI is too long (large_client_header_buffers).";
      break;
    case NGX_HTTP_REQUEST_HEADER_TOO_LARGE:  // sent with status 400
      e.status = NGX_HTTP_BAD_REQUEST;
      e.code = "request_too_large";
      e.message = "The request headers are too large (large_client_header_buffers).";
      break;
    case NGX_HTTP_REQUEST_TIME_OUT: e.message = "The request was not received in time."; break;
    case NGX_HTTP_LENGTH_REQUIRED: e.message = "A Content-Length header is required."; break;
    case NGX_HTTP_INTERNAL_SERVER_ERROR: e.message = "The gateway hit an internal error; see its error log."; break;
    default: e.message = "The request failed with HTTP " + std::to_string(r->err_status) + ".";
  }
  std::string_view uri(reinterpret_cast<const char*>(r->uri.data), r->uri.len);
  if (uri.empty() && r->uri_start && r->header_in && r->uri_start >= r->header_in->start && r->uri_start < r->header_in->last) {
    // The request line was cut short (URI too long): its path is still in the head buffer.
    const char* p = reinterpret_cast<const char*>(r->uri_start);
    const char* end = reinterpret_cast<const char*>(r->header_in->last);
    const char* q = p;
    while (q < end && *q != '?' && *q != ' ' && *q != '\r') ++q;
    uri = std::string_view(p, static_cast<size_t>(q - p));
  }
  bool anthropic = uri.size() >= 9 && (uri.substr(uri.size() - 9) == "/messages" ||
                                      (uri.size() >= 22 && uri.substr(uri.size() - 22) == "/messages/count_tokens"));
  return lingmo::translate::render_error(anthropic ? lingmo::translate::ClientApi::kMessages : lingmo::translate::ClientApi::kChat, e).body;
}

ngx_int_t header_filter(ngx_http_request_t* r) noexcept {
  try {
    if (applies(r)) {
      r->headers_out.content_length_n = static_cast<off_t>(json_for(r).size());
      ngx_str_set(&r->headers_out.content_type, "application/json");
      r->headers_out.content_type_len = r->headers_out.content_type.len;
      r->headers_out.content_type_lowcase = nullptr;
      r->headers_out.charset.len = 0;
      if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = nullptr;
      }
    }
  } catch (...) {
    return NGX_ERROR;
  }
  return next_header_filter(r);
}

ngx_int_t body_filter(ngx_http_request_t* r, ngx_chain_t* in) noexcept {
  if (!in || !applies(r)) return next_body_filter(r, in);
  bool last = false;
  for (ngx_chain_t* cl = in; cl; cl = cl->next) {
    last |= cl->buf->last_buf;
    cl->buf->pos = cl->buf->last;  // consume nginx's HTML page
    if (cl->buf->in_file) cl->buf->file_pos = cl->buf->file_last;
  }
  if (!last) return NGX_OK;
  try {
    ngx_str_t body = lingmo::ngx::pool_str(r->pool, json_for(r));
    auto* b = static_cast<ngx_buf_t*>(ngx_calloc_buf(r->pool));
    if (!body.data || !b) return NGX_ERROR;
    b->pos = b->start = body.data;
    b->last = b->end = body.data + body.len;
    b->memory = 1;
    b->last_buf = 1;
    ngx_chain_t out{b, nullptr};
    return next_body_filter(r, &out);
  } catch (...) {
    return NGX_ERROR;
  }
}

}  // namespace

ngx_int_t ngx_http_lingmo_init_error_filter(ngx_conf_t*) noexcept {
  next_header_filter = ngx_http_top_header_filter;
  ngx_http_top_header_filter = header_filter;
  next_body_filter = ngx_http_top_body_filter;
  ngx_http_top_body_filter = body_filter;
  return NGX_OK;
}
