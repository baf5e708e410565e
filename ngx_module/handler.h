#pragma once
#include "nginx.h"

// The content handler installed by `lingmo_gateway on`. noexcept: no C++ exception reaches nginx.
ngx_int_t ngx_http_lingmo_handler(ngx_http_request_t* r) noexcept;
