// Serves the built web console (see web_static.h). Files are read from disk on each request (a
// rebuilt console is picked up without a restart); only regular files under the resolved root are
// served: no "..", no hidden files, and symlinks may not lead outside the root.
#include "web_static.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "reply.h"

namespace lingmo::cp {

namespace {

// Scripts and styles only from this origin: Vite emits module scripts and stylesheets as files.
// 'unsafe-inline' for styles covers the style="" attributes the component library and the charts
// set; it allows no script. connect-src 'self': the console talks only to this daemon's /api.
constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'";

bool is_dir_with_index(const std::string& dir) {
  struct stat st {};
  return !dir.empty() && ::stat((dir + "/index.html").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string real(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string p(buf, static_cast<size_t>(n));
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

std::string mime_of(const std::string& path) {
  size_t dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "webmanifest") return "application/manifest+json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "gif") return "image/gif";
  if (ext == "webp") return "image/webp";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "woff") return "font/woff";
  if (ext == "ttf") return "font/ttf";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "wasm") return "application/wasm";
  return "application/octet-stream";
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// A path that must never fall back to the console: the API, health and metrics.
bool is_api_path(const std::string& p) {
  return p == "/api" || starts_with(p, "/api/") || p == "/healthz" || starts_with(p, "/healthz/") || p == "/metrics" ||
         starts_with(p, "/metrics/");
}

// No "..", no empty/hidden segments ("." first: .git, .env), no NUL or backslash.
bool safe_path(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.find('\0') != std::string::npos || p.find('\\') != std::string::npos) return false;
  size_t pos = 1;
  while (pos <= p.size()) {
    size_t end = p.find('/', pos);
    if (end == std::string::npos) end = p.size();
    std::string seg = p.substr(pos, end - pos);
    if (!seg.empty() && seg[0] == '.') return false;
    if (seg.empty() && end != p.size()) return false;  // "//"
    pos = end + 1;
  }
  return true;
}

void security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
}

// Sends `file` (a regular file under the root), or returns false when it cannot be read.
bool send_file(const httplib::Request& req, httplib::Response& res, const std::string& file, bool immutable) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"",
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ULL + static_cast<unsigned long long>(st.st_mtim.tv_nsec),
                static_cast<unsigned long long>(st.st_size));
  // (set_header appends in cpp-httplib: each header is set once, here.)
  security_headers(res);
  res.set_header("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.set_header("ETag", etag);
  if (req.get_header_value("If-None-Match") == etag) {
    res.status = 304;
    return true;
  }
  std::ostringstream body;
  body << in.rdbuf();
  res.status = 200;
  res.set_content(body.str(), mime_of(file).c_str());
  return true;
}

}  // namespace

std::string resolve_web_root(const std::string& configured) {
  if (configured == "off") return {};
  if (!configured.empty()) {
    std::string r = real(configured);
    return r.empty() ? configured : r;
  }
  std::string dir = exe_dir();
  for (const std::string& c : {dir.empty() ? std::string() : dir + "/../../controlplane/web/dist",
                               dir.empty() ? std::string() : dir + "/../share/lingmo/web", std::string("/usr/share/lingmo/web")})
    if (is_dir_with_index(c)) return real(c);
  return {};
}

void register_web_static(httplib::Server& server, const std::string& root_in) {
  std::string root = root_in.empty() ? std::string() : real(root_in);
  bool ok = is_dir_with_index(root);
  if (ok) spdlog::info("web console: serving {}", root);
  else if (root_in.empty()) spdlog::info("web console: off (WEB_ROOT=off, or no built console found; docs/UI.md)");
  else spdlog::warn("web console: {} has no index.html (build it: cd controlplane/web && npm ci && npm run build)", root_in);

  server.Get(R"(/.*)", [root, ok](const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (is_api_path(path) || !safe_path(path)) {
      res.status = 404;  // empty body: the server's error handler answers {"error":{"code":"not_found",...}}
      res.set_header("Cache-Control", "no-store");
      return;
    }
    if (!ok) {
      auto rep = error_reply(404, "not_found",
                             "the web console is not installed: build it (cd controlplane/web && npm ci && npm run build) "
                             "or set WEB_ROOT to its dist directory");
      res.status = 404;
      res.set_header("Cache-Control", "no-store");
      res.set_content(rep.body, "application/json");
      return;
    }
    // A file under the root (the real path must stay inside it: no symlink escapes).
    if (path != "/") {
      std::string file = real(root + path);
      if (!file.empty() && starts_with(file, (root + "/").c_str()) &&
          send_file(req, res, file, starts_with(path, "/assets/")))
        return;
    }
    // A client-side route (no dot in the last segment) gets index.html; a missing file gets 404,
    // never HTML in place of a script.
    std::string last = path.substr(path.rfind('/') + 1);
    if (last.find('.') != std::string::npos || starts_with(path, "/assets/") || !send_file(req, res, root + "/index.html", false)) {
      res.status = 404;
      res.set_header("Cache-Control", "no-store");
    }
  });
}

}  // namespace lingmo::cp
