// The web console: lingmo-controld serves the built single-page app (controlplane/web, `npm run
// build` -> dist/) from WEB_ROOT on the same origin as the API, so the browser's session cookie
// and CSRF token work without CORS.
//
//   GET /                     index.html (Cache-Control: no-cache, ETag)
//   GET /assets/<hashed file> the file (Cache-Control: public, max-age=31536000, immutable)
//   GET /favicon.svg, ...     other files at the top of WEB_ROOT (no-cache, ETag)
//   GET /providers, /logs, …  index.html: a client-side route (a path whose last segment has no dot)
//   GET /api/*, /healthz, /metrics are never answered with index.html: an unknown API path stays
//   a JSON 404 "no such endpoint".
// Every console response carries a Content-Security-Policy that fits a Vite build (scripts and
// styles from 'self' only, inline style attributes allowed for the component library, no eval,
// no framing), X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer.
#pragma once
#include <httplib.h>

#include <string>

namespace lingmo::cp {

// The directory to serve. `configured` is the WEB_ROOT setting: "off" serves nothing (""), a
// path is used as given, and "" (the default) searches, in order, for a directory holding
// index.html: <binary dir>/../../controlplane/web/dist (a build tree inside the repository, e.g.
// build/controlplane/lingmo-controld), <binary dir>/../share/lingmo/web (an install prefix), and
// /usr/share/lingmo/web. Returns "" when nothing is found.
std::string resolve_web_root(const std::string& configured);

// Registers the console's GET handler. Call it after every API route: it matches any path, and
// cpp-httplib tries handlers in the order they were registered. With an empty `root` (or one
// without index.html) the console paths answer a JSON 404 that says how to build the UI.
void register_web_static(httplib::Server& server, const std::string& root);

}  // namespace lingmo::cp
