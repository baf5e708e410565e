#pragma once
#include "nginx.h"

// Installs the header/body filter that answers nginx's own error pages (413 body too large,
// 400 bad request, 500 ...) in gateway locations in OpenAI's JSON error format.
ngx_int_t ngx_http_lingmo_init_error_filter(ngx_conf_t* cf) noexcept;
