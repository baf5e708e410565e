#include "quota/rules.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "util/civil.h"

namespace lingmo::quota {

namespace {
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }

std::string ymd(int64_t y, int m, int d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(y), m, d);
  return buf;
}
}  // namespace

const char* window_name(Window w) {
  switch (w) {
    case Window::kMinute: return "minute";
    case Window::kHour: return "hour";
    case Window::kFiveHours: return "5h";
    case Window::kDay: return "day";
    case Window::kWeek: return "week";
    case Window::kMonth: return "month";
    case Window::kOneOff: return "oneoff";
  }
  return "day";
}

Result<Window> parse_window(std::string_view s) {
  for (Window w : {Window::kMinute, Window::kHour, Window::kFiveHours, Window::kDay, Window::kWeek, Window::kMonth, Window::kOneOff})
    if (s == window_name(w)) return w;
  return Result<Window>::fail("unknown quota window \"" + std::string(s) + "\" (minute, hour, 5h, day, week, month, oneoff)");
}

bool valid_metric(std::string_view m) {
  return m == "requests" || m == "prompt_tokens" || m == "completion_tokens" || m == "total_tokens" || m == "cost";
}

const char* counter_field(const std::string& metric) { return metric == "cost" ? "cost_micros" : metric.c_str(); }

int64_t limit_from_units(const std::string& metric, double units) {
  return metric == "cost" ? std::llround(units * 1e6) : std::llround(units);
}

double limit_to_units(const std::string& metric, int64_t limit) {
  return metric == "cost" ? static_cast<double>(limit) / 1e6 : static_cast<double>(limit);
}

Rule::Span Rule::span(int64_t now_s, const TimeZone& zone) const {
  auto fixed = [&](int64_t len, const char* tag) {
    int64_t n = floor_div(now_s, len);
    return Span{std::string(tag) + std::to_string(n), n * len, (n + 1) * len};
  };
  switch (window) {
    case Window::kMinute: return fixed(60, "m");
    case Window::kHour: return fixed(3600, "h");
    case Window::kFiveHours: return fixed(5 * 3600, "5h");
    case Window::kOneOff: return Span{"all", 0, INT64_MAX / 2};
    case Window::kDay: {
      auto c = zone.civil(now_s);
      return Span{ymd(c.year, c.month, c.day), zone.day_start(now_s), zone.next_day_start(now_s)};
    }
    case Window::kWeek: {
      auto c = zone.civil(now_s);
      int64_t days = civil::days_from_civil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day)) - c.weekday;
      auto mon = TimeZone::utc()->civil(days * 86400);
      auto next = TimeZone::utc()->civil((days + 7) * 86400);
      return Span{"w" + ymd(mon.year, mon.month, mon.day), zone.from_civil(mon.year, mon.month, mon.day),
                  zone.from_civil(next.year, next.month, next.day)};
    }
    case Window::kMonth: {
      auto c = zone.civil(now_s);
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04lld-%02d", static_cast<long long>(c.year), c.month);
      return Span{buf, zone.from_civil(c.year, c.month, 1), zone.from_civil(c.year, c.month + 1, 1)};
    }
  }
  return Span{"all", 0, INT64_MAX / 2};
}

std::string Rule::describe() const {
  std::string amount;
  if (metric == "cost") {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", limit_to_units(metric, limit));
    amount = buf;
  } else {
    amount = std::to_string(limit);
  }
  return amount + " " + metric + "/" + window_name(window) + (tz != "UTC" ? " (" + tz + ")" : "") +
         (model.empty() ? "" : " for " + model);
}

Result<Rule> parse_rule_spec(std::string_view spec) {
  using R = Result<Rule>;
  Rule r;
  size_t slash = spec.find('/'), eq = spec.find('=');
  if (slash == std::string_view::npos || eq == std::string_view::npos || eq < slash)
    return R::fail("quota \"" + std::string(spec) + "\": expected METRIC/WINDOW=LIMIT[@ZONE][:MODEL]");
  r.metric = std::string(spec.substr(0, slash));
  if (!valid_metric(r.metric)) return R::fail("quota metric \"" + r.metric + "\" is not requests, prompt_tokens, completion_tokens or total_tokens");
  auto w = parse_window(spec.substr(slash + 1, eq - slash - 1));
  if (!w) return R::fail(w.error());
  r.window = w.value();
  std::string_view rest = spec.substr(eq + 1);
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    r.model = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    r.tz = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
  }
  std::string text(rest);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  bool integral = r.metric == "cost" || text.find_first_not_of("0123456789") == std::string::npos;
  if (text.empty() || !end || *end != '\0' || !(v > 0) || !integral)
    return R::fail("quota limit \"" + text + "\" must be a positive " + (r.metric == "cost" ? "amount" : "integer"));
  r.limit = limit_from_units(r.metric, v);
  return r;
}

std::string key_budget_key(std::string_view key_id, size_t rule_index, std::string_view window_id) {
  return "lingmo:keyquota:" + std::string(key_id) + ":" + std::to_string(rule_index) + ":" + std::string(window_id);
}

std::string counter_key(std::string_view provider_id, size_t rule_index, std::string_view window_id) {
  return "lingmo:quota:" + std::string(provider_id) + ":" + std::to_string(rule_index) + ":" + std::string(window_id);
}

int64_t cap(int64_t limit, double threshold) {
  if (!(threshold > 0) || threshold > 1) threshold = 1;
  return static_cast<int64_t>(std::floor(static_cast<double>(limit) * threshold + 1e-9));
}

}  // namespace lingmo::quota
