#include "util/duration.h"

#include "util/civil.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace lingmo::duration {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<int64_t> parse_go(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    // strtod, not stod: "." or a 400-digit number must give nullopt, not an exception.
    const std::string num(s.substr(start, i - start));
    char* end = nullptr;
    double v = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size()) return std::nullopt;  // ".", "1.2.3"
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ms") mult = 1;
    else if (unit == "s" || unit.empty()) mult = 1000;
    else if (unit == "m") mult = 60000;
    else if (unit == "h") mult = 3600000;
    else if (unit == "us" || unit == "µs") mult = 0.001;
    else return std::nullopt;
    if (unit.empty() && i != s.size()) return std::nullopt;
    total += v * mult;
    any = true;
  }
  if (!any || total < 0 || total > 1e13) return std::nullopt;
  return static_cast<int64_t>(total + 0.5);
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  s = trim(s);
  int y, mo, d, h, mi;
  double sec;
  char rest[16] = {0};
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%15s", &y, &mo, &d, &h, &mi, &sec, rest) < 6) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || !(sec >= 0 && sec < 61)) return std::nullopt;
  int64_t offset_s = 0;
  std::string_view r(rest);
  if (!r.empty() && r != "Z" && r != "z") {
    int oh = 0, om = 0;
    if ((r[0] != '+' && r[0] != '-') || std::sscanf(rest + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (r[0] == '-' ? -1 : 1);
  }
  int64_t days = civil::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  double epoch_s = static_cast<double>(days * 86400 + h * 3600 + mi * 60 - offset_s) + sec;
  return static_cast<int64_t>(epoch_s * 1000 + 0.5);
}

std::optional<int64_t> parse_retry_after(std::string_view s, int64_t now_ms) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  bool numeric = true;
  for (char c : s) numeric &= std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  if (numeric) {
    const std::string num(s);
    char* end = nullptr;
    double v = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size() || !(v < 1e10)) return std::nullopt;  // ".", "..", absurdly large
    return static_cast<int64_t>(v * 1000);
  }
  // HTTP-date: "Wed, 21 Oct 2015 07:28:00 GMT"
  struct tm tm {};
  std::string str(s);
  if (!strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return std::nullopt;
  int64_t t = civil::days_from_civil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1), static_cast<unsigned>(tm.tm_mday)) * 86400 +
              tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  int64_t ms = t * 1000 - now_ms;
  return ms < 0 ? 0 : ms;
}

}  // namespace lingmo::duration
