#include "net/sentinel.h"

#include <arpa/inet.h>

#include <cctype>

namespace lingmo::net {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<int> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 65535) return std::nullopt;
  return n;
}

std::optional<HostPort> host_port(std::string_view host, std::string_view port, bool ip_only) {
  auto p = parse_port(port);
  if (!p || host.empty()) return std::nullopt;
  if (ip_only && !is_ip_literal(host)) return std::nullopt;
  return HostPort{std::string(host), *p};
}

}  // namespace

std::string HostPort::str() const {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port) : host + ":" + std::to_string(port);
}

bool is_ip_literal(std::string_view host) {
  if (host.empty() || host.size() > 45) return false;
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

Result<std::vector<HostPort>> parse_host_ports(std::string_view list, int default_port) {
  using R = Result<std::vector<HostPort>>;
  std::vector<HostPort> out;
  std::string_view rest = list;
  for (;;) {
    size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) return R::fail("empty item in the address list \"" + std::string(list) + "\"");
    std::string_view host = item, port;
    bool has_port = false;
    if (item.front() == '[') {
      size_t close = item.find(']');
      if (close == std::string_view::npos) return R::fail("unclosed '[' in \"" + std::string(item) + "\"");
      host = item.substr(1, close - 1);
      std::string_view after = item.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') return R::fail("expected ':' after ']' in \"" + std::string(item) + "\"");
        port = after.substr(1);
        has_port = true;
      }
    } else if (size_t colon = item.rfind(':'); colon != std::string_view::npos && item.find(':') == colon) {
      host = item.substr(0, colon);
      port = item.substr(colon + 1);
      has_port = true;
    }
    std::string port_text = has_port ? std::string(port) : std::to_string(default_port);
    auto hp = host_port(host, port_text, false);
    if (!hp) return R::fail("bad address \"" + std::string(item) + "\" (expected host:port, port 1-65535)");
    out.push_back(std::move(*hp));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::optional<HostPort> master_from_reply(const std::vector<std::string>& elements, bool ip_only) {
  if (elements.size() != 2) return std::nullopt;
  return host_port(elements[0], elements[1], ip_only);
}

std::optional<HostPort> switch_master(std::string_view message, std::string_view master, bool ip_only) {
  std::vector<std::string_view> words;
  while (!message.empty()) {
    size_t sp = message.find(' ');
    std::string_view w = message.substr(0, sp);
    if (!w.empty()) words.push_back(w);
    if (sp == std::string_view::npos) break;
    message.remove_prefix(sp + 1);
  }
  if (words.size() != 5 || words[0] != master) return std::nullopt;
  return host_port(words[3], words[4], ip_only);
}

bool is_replica_error(std::string_view error) {
  auto starts = [&](std::string_view code) {
    return error.size() >= code.size() && error.substr(0, code.size()) == code &&
           (error.size() == code.size() || error[code.size()] == ' ');
  };
  return starts("READONLY") || starts("MASTERDOWN");
}

}  // namespace lingmo::net
