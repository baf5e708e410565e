#include "quota/balance.h"
#include "util/json.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <ctime>

#include "util/civil.h"

namespace lingmo::quota {

namespace {

using rapidjson::Value;

constexpr int64_t kDayMs = 86'400'000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "scheme://authority" of a URL ("" when it has no scheme).
std::string_view origin_of(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  size_t end = url.find_first_of("/?#", scheme + 3);
  return url.substr(0, end == std::string_view::npos ? url.size() : end);
}

std::string host_of(std::string_view url) {
  std::string_view o = origin_of(url);
  if (o.empty()) return {};
  std::string_view auth = o.substr(o.find("://") + 3);
  if (size_t at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  if (!auth.empty() && auth.front() == '[') return lower(auth.substr(1, auth.find(']') - 1));  // [v6]:port
  return lower(auth.substr(0, auth.find(':')));
}

// Midnight UTC of the first day of the month of `now_ms`, in epoch seconds, and as a date.
int64_t month_start_s(int64_t now_ms, int& year, unsigned& month) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  year = tm.tm_year + 1900;
  month = static_cast<unsigned>(tm.tm_mon + 1);
  return civil::days_from_civil(year, month, 1) * 86400;
}

// The next start of a calendar period (UTC) after `now_ms`: "daily", "weekly" (Mondays),
// "monthly". 0 for anything else.
int64_t next_period_ms(std::string_view period, int64_t now_ms) {
  int64_t day = now_ms / kDayMs;
  if (period == "daily") return (day + 1) * kDayMs;
  if (period == "weekly") {
    int64_t weekday = (day + 3) % 7;  // 1970-01-01 was a Thursday: Monday = 0
    return (day + 7 - weekday) * kDayMs;
  }
  if (period == "monthly") {
    int y = 0;
    unsigned m = 0;
    month_start_s(now_ms, y, m);
    if (++m > 12) m = 1, ++y;
    return civil::days_from_civil(y, m, 1) * kDayMs;
  }
  return 0;
}

// Epoch ms from a vendor time that may be in seconds (values below 10^11 are seconds: 10^11 ms
// is in 1973, 10^11 s in year 5138).
int64_t epoch_ms(double v) {
  if (!(v > 0) || v > 1e15) return 0;
  return v < 1e11 ? static_cast<int64_t>(v * 1000) : static_cast<int64_t>(v);
}

std::string clean(std::string msg) {
  if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
  for (char& c : msg)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return msg;
}

// The vendor's words in a JSON answer: error.message, error, message, msg, error_msg or
// base_resp.status_msg ("" when none).
std::string message_of(const Value& d) {
  if (!d.IsObject()) return {};
  auto str = [](const Value& o, const char* k) -> std::string {
    auto it = o.FindMember(k);
    return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength()) : std::string();
  };
  std::string msg;
  if (auto it = d.FindMember("error"); it != d.MemberEnd() && it->value.IsObject()) msg = str(it->value, "message");
  for (const char* k : {"error", "message", "msg", "error_msg", "status_msg"})
    if (msg.empty()) msg = str(d, k);
  if (auto br = d.FindMember("base_resp"); msg.empty() && br != d.MemberEnd() && br->value.IsObject()) msg = str(br->value, "status_msg");
  return clean(msg);
}

// The vendor's words from an error body, or a short, printable description of the body.
std::string vendor_message(std::string_view body) {
  rapidjson::Document d;
  json::parse(d, body.data(), body.size());
  if (!d.HasParseError())
    if (std::string msg = message_of(d); !msg.empty()) return msg;
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "(empty body)";
  if (body[first] == '<') return "(an HTML page)";
  return clean(std::string(body.substr(first, 120)));
}

// Collects the first shape problem as "unexpected shape: <path> <what>".
class Check {
 public:
  bool fail(const std::string& path, std::string_view what) {
    if (error_.empty()) error_ = "unexpected shape: " + path + " " + std::string(what);
    return false;
  }
  const std::string& error() const { return error_; }

  // A member that must be there (JSON null counts as missing).
  const Value* need(const Value& o, const char* key, const std::string& path) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd() || it->value.IsNull()) return fail(path, "missing"), nullptr;
    return &it->value;
  }
  bool object(const Value& o, const char* key, const std::string& path, const Value*& out) {
    out = need(o, key, path);
    return out && (out->IsObject() || fail(path, "is not an object"));
  }
  bool array(const Value& o, const char* key, const std::string& path, const Value*& out) {
    out = need(o, key, path);
    return out && (out->IsArray() || fail(path, "is not an array"));
  }
  bool boolean(const Value& o, const char* key, const std::string& path, bool& out) {
    const Value* v = need(o, key, path);
    if (!v) return false;
    if (!v->IsBool()) return fail(path, "is not true/false");
    out = v->GetBool();
    return true;
  }
  bool string(const Value& o, const char* key, const std::string& path, std::string& out) {
    const Value* v = need(o, key, path);
    if (!v) return false;
    if (!v->IsString()) return fail(path, "is not a string");
    out.assign(v->GetString(), v->GetStringLength());
    return true;
  }
  // A number, or a string holding one (money often comes as "23.50").
  bool amount(const Value& v, const std::string& path, double& out) {
    if (v.IsNumber()) return out = v.GetDouble(), std::isfinite(out) || fail(path, "is not a finite number");
    if (v.IsString()) {
      std::string_view s(v.GetString(), v.GetStringLength());
      if (parse_amount(s, out)) return true;
      return fail(path, "is not a number (\"" + std::string(s.substr(0, 40)) + "\")");
    }
    return fail(path, "is not a number");
  }
  bool amount(const Value& o, const char* key, const std::string& path, double& out) {
    const Value* v = need(o, key, path);
    return v && amount(*v, path, out);
  }
  // Absent or null: true, `present` false. Present: it must be an amount.
  bool optional_amount(const Value& o, const char* key, const std::string& path, double& out, bool& present) {
    present = false;
    auto it = o.FindMember(key);
    if (it == o.MemberEnd() || it->value.IsNull()) return true;
    present = true;
    return amount(it->value, path, out);
  }

 private:
  std::string error_;
};

BalanceReading failed(std::string why) {
  BalanceReading r;
  r.error = std::move(why);
  return r;
}

// A vendor envelope's business code: when the member is there it must equal `ok_code`.
bool envelope_ok(const Value& d, const char* key, long long ok_code, std::string& error) {
  auto it = d.FindMember(key);
  if (it == d.MemberEnd() || it->value.IsNull()) return true;
  if (it->value.IsInt64() && it->value.GetInt64() == ok_code) return true;
  std::string code = it->value.IsInt64() ? std::to_string(it->value.GetInt64())
                     : it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                            : std::string("?");
  error = "the vendor answered code " + code + ": " + message_of(d);
  return false;
}

}  // namespace


namespace {

// Each parser fills `r` from an answer that is a JSON object and returns false (with the reason
// in `c` or `r.error`) when the shape is not the one expected.

bool parse_deepseek(const Value& d, BalanceReading& r, Check& c) {
  const Value* infos = nullptr;
  if (!c.boolean(d, "is_available", "is_available", r.available) || !c.array(d, "balance_infos", "balance_infos", infos)) return false;
  // One entry per currency; accounts hold one. With several, the first is the one reported.
  if (infos->Empty()) return true;  // no balance figure: unknown, not zero
  const Value& first = (*infos)[0];
  if (!first.IsObject()) return c.fail("balance_infos[0]", "is not an object");
  double total = 0;
  if (!c.string(first, "currency", "balance_infos[0].currency", r.currency) ||
      !c.amount(first, "total_balance", "balance_infos[0].total_balance", total))
    return false;
  r.currency = upper(r.currency);
  r.balance = total;
  return true;
}

bool parse_moonshot(const Value& d, BalanceReading& r, Check& c) {
  if (!envelope_ok(d, "code", 0, r.error)) return false;
  const Value* data = nullptr;
  double avail = 0, part = 0;
  bool present = false;
  if (!c.object(d, "data", "data", data) || !c.amount(*data, "available_balance", "data.available_balance", avail) ||
      !c.optional_amount(*data, "voucher_balance", "data.voucher_balance", part, present) ||
      !c.optional_amount(*data, "cash_balance", "data.cash_balance", part, present))
    return false;
  r.balance = avail;
  r.available = avail > 0;  // [doc] available_balance <= 0: inference calls fail
  return true;
}

bool parse_siliconflow(const Value& d, BalanceReading& r, Check& c) {
  if (!envelope_ok(d, "code", 20000, r.error)) return false;
  if (auto st = d.FindMember("status"); st != d.MemberEnd() && st->value.IsBool() && !st->value.GetBool())
    return r.error = "the vendor answered status false: " + message_of(d), false;
  const Value* data = nullptr;
  double total = 0, part = 0;
  bool present = false;
  if (!c.object(d, "data", "data", data) || !c.amount(*data, "totalBalance", "data.totalBalance", total) ||
      !c.optional_amount(*data, "balance", "data.balance", part, present) ||
      !c.optional_amount(*data, "chargeBalance", "data.chargeBalance", part, present))
    return false;
  r.balance = total;
  return true;
}

bool parse_openrouter(const Value& d, BalanceReading& r, Check& c, int64_t now_ms) {
  const Value* data = nullptr;
  if (!c.object(d, "data", "data", data)) return false;
  double usage = 0;
  if (!c.amount(*data, "usage", "data.usage", usage)) return false;
  auto limit = data->FindMember("limit");
  if (limit == data->MemberEnd()) return c.fail("data.limit", "missing");
  r.currency = "USD";  // credits are US dollars [doc]
  if (!limit->value.IsNull()) {  // null: the key has no spending limit, so no balance to report
    double lim = 0, remaining = 0;
    bool present = false;
    if (!c.amount(limit->value, "data.limit", lim) ||
        !c.optional_amount(*data, "limit_remaining", "data.limit_remaining", remaining, present))
      return false;
    if (present) {
      r.balance = remaining;
      UsageWindow w;
      w.name = "key_limit";
      w.limit = lim;
      w.used = lim - remaining;
      w.percent = lim > 0 ? std::max(0.0, w.used / lim * 100) : 100;
      if (auto reset = data->FindMember("limit_reset"); reset != data->MemberEnd() && !reset->value.IsNull()) {
        if (!reset->value.IsString()) return c.fail("data.limit_reset", "is not a string");
        w.resets_ms = next_period_ms(reset->value.GetString(), now_ms);  // UTC calendar periods [?]
      }
      r.windows.push_back(w);
    }
  }
  if (auto tier = data->FindMember("is_free_tier"); tier != data->MemberEnd() && !tier->value.IsNull() && !tier->value.IsBool())
    return c.fail("data.is_free_tier", "is not true/false");
  // Newer answers: the account's daily allowance of requests to :free models [doc]. It only
  // limits :free models, so it does not stop the provider as a whole.
  if (auto free = data->FindMember("free_model_daily_requests"); free != data->MemberEnd() && !free->value.IsNull()) {
    if (!free->value.IsObject()) return c.fail("data.free_model_daily_requests", "is not an object");
    double lim = 0, used = 0;
    if (!c.amount(free->value, "limit", "data.free_model_daily_requests.limit", lim) ||
        !c.amount(free->value, "used", "data.free_model_daily_requests.used", used))
      return false;
    UsageWindow w;
    w.name = "free_daily_requests";
    w.limit = lim;
    w.used = used;
    w.percent = lim > 0 ? used / lim * 100 : -1;
    w.resets_ms = next_period_ms("daily", now_ms);  // UTC midnight [doc]
    w.gates = false;
    r.windows.push_back(w);
  }
  return true;
}

bool parse_stepfun(const Value& d, BalanceReading& r, Check& c) {
  double balance = 0, part = 0;
  bool present = false;
  // The cash/voucher fields are lifetime totals, not parts of what is left [obs]: type-checked only.
  if (!c.amount(d, "balance", "balance", balance) ||
      !c.optional_amount(d, "total_cash_balance", "total_cash_balance", part, present) ||
      !c.optional_amount(d, "total_voucher_balance", "total_voucher_balance", part, present))
    return false;
  r.balance = balance;
  return true;
}

bool parse_xai(const Value& d, BalanceReading& r, Check& c) {
  bool key = false, disabled = false, team = false;
  if (!c.boolean(d, "api_key_blocked", "api_key_blocked", key) || !c.boolean(d, "api_key_disabled", "api_key_disabled", disabled) ||
      !c.boolean(d, "team_blocked", "team_blocked", team))
    return false;
  r.key_blocked = key || disabled || team;
  r.available = !r.key_blocked;
  return true;  // key metadata only: no money figures [doc]
}

// Zhipu / Z.ai coding plan [obs]: {"code":200,"msg":"...","success":true,"data":{"level":"lite",
// "limits":[{"type":"TOKENS_LIMIT","unit":3,"number":5,"percentage":1,"nextResetTime":<ms>},
// {"type":"TIME_LIMIT","unit":5,"number":1,"usage":100,"currentValue":28,"remaining":72,
// "percentage":28,"nextResetTime":<ms>}]}}. Observed variants: "CREDIT_LIMIT" windows (unit 3 x5 =
// 5 hours, unit 6 = a week), and `data` given as the array of limits itself. TIME_LIMIT counts MCP
// tool calls (web search, reader) per month: full, it does not stop chat, so it does not gate.
// usage = the window's total, currentValue = used (only some types carry them).
bool parse_zhipu(const Value& d, BalanceReading& r, Check& c) {
  if (!envelope_ok(d, "code", 200, r.error)) return false;
  if (auto ok = d.FindMember("success"); ok != d.MemberEnd() && ok->value.IsBool() && !ok->value.GetBool())
    return r.error = "the vendor answered success false: " + message_of(d), false;
  const Value* data = c.need(d, "data", "data");
  if (!data) return false;
  const Value* limits = data;
  std::string base = "data";
  if (data->IsObject()) {
    if (!c.array(*data, "limits", "data.limits", limits)) return false;
    base = "data.limits";
  } else if (!data->IsArray()) {
    return c.fail("data", "is neither an object nor an array");
  }
  for (rapidjson::SizeType i = 0; i < limits->Size(); ++i) {
    const Value& l = (*limits)[i];
    std::string path = base + "[" + std::to_string(i) + "]";
    if (!l.IsObject()) return c.fail(path, "is not an object");
    UsageWindow w;
    double pct = 0, v = 0;
    bool present = false;
    if (!c.string(l, "type", path + ".type", w.name) || !c.amount(l, "percentage", path + ".percentage", pct)) return false;
    w.percent = pct;
    w.gates = w.name != "TIME_LIMIT";
    double unit = 0, number = 0;
    bool has_unit = false, has_number = false;
    if (!c.optional_amount(l, "unit", path + ".unit", unit, has_unit) || !c.optional_amount(l, "number", path + ".number", number, has_number))
      return false;
    if (has_unit && has_number) {
      // [obs] unit 3 = hours, 5 = months, 6 = weeks.
      std::string u = unit == 3 ? "h" : unit == 5 ? "mo" : unit == 6 ? "w" : "u" + std::to_string(static_cast<int>(unit));
      w.name += "/" + std::to_string(static_cast<int64_t>(number)) + u;
    }
    if (!c.optional_amount(l, "usage", path + ".usage", v, present)) return false;
    if (present) w.limit = v;
    if (!c.optional_amount(l, "currentValue", path + ".currentValue", v, present)) return false;
    if (present) w.used = v;
    if (!c.optional_amount(l, "remaining", path + ".remaining", v, present)) return false;
    if (!c.optional_amount(l, "nextResetTime", path + ".nextResetTime", v, present)) return false;
    if (present) w.resets_ms = epoch_ms(v);
    r.windows.push_back(std::move(w));
  }
  return true;  // no limits at all (a key without a coding plan [?]): nothing known, nothing parked
}

// MiniMax Token Plan [obs]: {"base_resp":{"status_code":0,"status_msg":"success"},
// "model_remains":[{"model_name":"MiniMax-M2","start_time":<ms>,"end_time":<ms>,
// "current_interval_total_count":1500,"current_interval_usage_count":1495,
// "current_interval_remaining_percent":99,"weekly_end_time":<ms>,"current_weekly_total_count":15000,
// "current_weekly_usage_count":14530,"current_weekly_remaining_percent":96}]}.
// Public tools disagree on what *_usage_count means (used, or — despite the name — remaining;
// MiniMax-AI/MiniMax-M2#99 and openclaw's back-and-forth fixes), and newer answers give 0 counts
// with only *_remaining_percent filled. So only *_remaining_percent sets the share used; a row with
// counts only is listed with percent -1 (unknown: it never parks). Rows for other lanes ("video",
// "image-01", speech) do not gate chat; "general" and "MiniMax-M*" rows do. model_remains null is
// a key without a Token Plan: an error, not an empty plan.
bool parse_minimax(const Value& d, BalanceReading& r, Check& c) {
  if (auto br = d.FindMember("base_resp"); br != d.MemberEnd() && br->value.IsObject())
    if (!envelope_ok(br->value, "status_code", 0, r.error)) return false;
  const Value* holder = &d;
  if (!d.HasMember("model_remains"))
    if (auto data = d.FindMember("data"); data != d.MemberEnd() && data->value.IsObject()) holder = &data->value;  // [obs] some wrap it
  auto rows = holder->FindMember("model_remains");
  if (rows == holder->MemberEnd()) return c.fail("model_remains", "missing");
  if (rows->value.IsNull()) return r.error = "model_remains is null: this key has no Token Plan", false;
  if (!rows->value.IsArray()) return c.fail("model_remains", "is not an array");
  for (rapidjson::SizeType i = 0; i < rows->value.Size(); ++i) {
    const Value& row = rows->value[i];
    std::string path = "model_remains[" + std::to_string(i) + "]";
    if (!row.IsObject()) return c.fail(path, "is not an object");
    std::string model;
    if (!c.string(row, "model_name", path + ".model_name", model)) return false;
    std::string lm = lower(model);
    bool gates = lm == "general" || lm.rfind("minimax-m", 0) == 0;
    struct Lane {
      const char* name;
      const char* percent;
      const char* total;
      const char* end;
    };
    for (const Lane& lane : {Lane{"interval", "current_interval_remaining_percent", "current_interval_total_count", "end_time"},
                             Lane{"weekly", "current_weekly_remaining_percent", "current_weekly_total_count", "weekly_end_time"}}) {
      double left = 0, total = 0, end = 0;
      bool has_left = false, has_total = false, has_end = false;
      if (!c.optional_amount(row, lane.percent, path + "." + lane.percent, left, has_left) ||
          !c.optional_amount(row, lane.total, path + "." + lane.total, total, has_total) ||
          !c.optional_amount(row, lane.end, path + "." + lane.end, end, has_end))
        return false;
      if (!has_left && !(has_total && total > 0)) continue;  // this lane is not in the plan
      UsageWindow w;
      w.name = model + "/" + lane.name;
      w.gates = gates;
      if (has_total && total > 0) w.limit = total;
      if (has_left) {
        w.percent = std::clamp(100 - left, 0.0, 100.0);
        if (w.limit > 0) w.used = std::round(w.limit * w.percent / 100);
      }
      if (has_end) w.resets_ms = epoch_ms(end);
      r.windows.push_back(std::move(w));
    }
  }
  return true;
}

// Sums the results of a cost report (data[i].results[j], the shape OpenAI's and Anthropic's
// organization cost endpoints share): `read(result, path, amount, currency)` reads one result's
// amount and currency. One currency only; an empty report is a real zero (the envelope was
// complete).
template <class ReadResult>
bool sum_cost_results(const Value& data, BalanceReading& r, Check& c, double& total, std::string& currency, ReadResult read) {
  for (rapidjson::SizeType i = 0; i < data.Size(); ++i) {
    const Value& b = data[i];
    std::string path = "data[" + std::to_string(i) + "]";
    const Value* results = nullptr;
    if (!b.IsObject()) return c.fail(path, "is not an object");
    if (!c.array(b, "results", path + ".results", results)) return false;
    for (rapidjson::SizeType j = 0; j < results->Size(); ++j) {
      const Value& res = (*results)[j];
      std::string rp = path + ".results[" + std::to_string(j) + "]";
      double v = 0;
      std::string cur = "USD";
      if (!res.IsObject()) return c.fail(rp, "is not an object");
      if (!read(res, rp, v, cur)) return false;
      cur = upper(cur);
      if (!currency.empty() && cur != currency) return r.error = "the costs mix currencies (" + currency + ", " + cur + ")", false;
      currency = cur;
      total += v;
    }
  }
  if (currency.empty()) currency = "USD";
  return true;
}

// OpenAI GET /v1/organization/costs [doc]: {"object":"page","data":[{"object":"bucket",
// "start_time":s,"end_time":s,"results":[{"object":"organization.costs.result",
// "amount":{"value":0.06,"currency":"usd"},...}]}],"has_more":false,"next_page":null}.
bool parse_openai_admin(const Value& d, BalanceReading& r, Check& c) {
  const Value* data = nullptr;
  if (!c.array(d, "data", "data", data)) return false;
  if (auto more = d.FindMember("has_more"); more != d.MemberEnd() && more->value.IsBool() && more->value.GetBool())
    return r.error = "the answer has more pages (has_more): the month's total would be short", false;
  double spent = 0;
  std::string currency;
  bool ok = sum_cost_results(*data, r, c, spent, currency, [&](const Value& res, const std::string& rp, double& v, std::string& cur) {
    const Value* amount = nullptr;
    return c.object(res, "amount", rp + ".amount", amount) && c.amount(*amount, "value", rp + ".amount.value", v) &&
           c.string(*amount, "currency", rp + ".amount.currency", cur);
  });
  if (!ok) return false;
  r.spent = spent;
  r.currency = currency;
  return true;
}

// Anthropic GET /v1/organizations/cost_report [doc]: {"data":[{"starting_at","ending_at",
// "results":[{"currency":"USD","amount":"123.45",...}]}],"has_more":false,"next_page":null};
// amounts are decimal strings in cents ("123.45" USD = $1.2345).
bool parse_anthropic_admin(const Value& d, BalanceReading& r, Check& c) {
  const Value* data = nullptr;
  bool more = false;
  if (!c.array(d, "data", "data", data) || !c.boolean(d, "has_more", "has_more", more)) return false;
  if (more) return r.error = "the answer has more pages (has_more): the month's total would be short", false;
  double cents = 0;
  std::string currency;
  bool ok = sum_cost_results(*data, r, c, cents, currency, [&](const Value& res, const std::string& rp, double& v, std::string& cur) {
    return c.amount(res, "amount", rp + ".amount", v) && (!res.HasMember("currency") || c.string(res, "currency", rp + ".currency", cur));
  });
  if (!ok) return false;
  r.spent = cents / 100;
  r.currency = currency;
  return true;
}

struct KindName {
  BalanceKind kind;
  const char* name;
  const char* path;  // on the provider's origin
};

constexpr KindName kKinds[] = {
    {BalanceKind::kNone, "none", ""},
    {BalanceKind::kDeepSeek, "deepseek", "/user/balance"},
    {BalanceKind::kMoonshot, "moonshot", "/v1/users/me/balance"},
    {BalanceKind::kSiliconFlow, "siliconflow", "/v1/user/info"},
    {BalanceKind::kOpenRouter, "openrouter", "/api/v1/key"},
    {BalanceKind::kStepFun, "stepfun", "/v1/accounts"},
    {BalanceKind::kXai, "xai", "/v1/api-key"},
    {BalanceKind::kZhipu, "zhipu", "/api/monitor/usage/quota/limit"},
    {BalanceKind::kMiniMax, "minimax", "/v1/token_plan/remains"},
    {BalanceKind::kOpenAIAdmin, "admin_usage", "/v1/organization/costs"},
    {BalanceKind::kAnthropicAdmin, "admin_usage", "/v1/organizations/cost_report"},
};

const KindName& info(BalanceKind k) {
  for (const auto& x : kKinds)
    if (x.kind == k) return x;
  return kKinds[0];
}

}  // namespace

std::optional<BalanceKind> balance_kind_from_name(std::string_view name, std::string_view dialect) {
  if (name == "admin_usage") return dialect == "anthropic" ? BalanceKind::kAnthropicAdmin : BalanceKind::kOpenAIAdmin;
  for (const auto& x : kKinds)
    if (name == x.name) return x.kind;
  return std::nullopt;
}

const char* balance_kind_name(BalanceKind k) { return info(k).name; }

bool parse_amount(std::string_view s, double& out) {
  if (s.empty() || s.size() > 64) return false;
  // JSON number characters only: strtod alone would also take " 5", "0x1p3", "inf" and "nan".
  for (char ch : s)
    if (!(std::isdigit(static_cast<unsigned char>(ch)) || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E')) return false;
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

BalanceRequest balance_request(BalanceKind k, std::string_view base_url, std::string_view url_override, int64_t now_ms) {
  BalanceRequest req;
  req.url = url_override.empty() ? std::string(origin_of(base_url)) + info(k).path : std::string(url_override);
  if (needs_admin_key(k)) {
    // This month so far, in daily buckets: at most 31, one page.
    int y = 0;
    unsigned m = 0;
    int64_t start = month_start_s(now_ms, y, m);
    char date[32];
    std::snprintf(date, sizeof date, "%04d-%02u-01T00:00:00Z", y, m);
    std::string query = k == BalanceKind::kOpenAIAdmin ? "start_time=" + std::to_string(start) + "&bucket_width=1d&limit=31"
                                                       : std::string("starting_at=") + date + "&bucket_width=1d&limit=31";
    req.url += (req.url.find('?') == std::string::npos ? "?" : "&") + query;
  }
  req.host = host_of(req.url);
  return req;
}

std::vector<std::string> balance_headers(BalanceKind k, const std::string& key) {
  std::vector<std::string> h{"Accept: application/json"};
  if (k == BalanceKind::kAnthropicAdmin) {
    h.push_back("x-api-key: " + key);
    h.push_back("anthropic-version: 2023-06-01");
  } else {
    // Zhipu's monitor endpoint takes the Bearer form too [obs] (some tools send the bare key).
    h.push_back("Authorization: Bearer " + key);
  }
  return h;
}

std::string currency_for_host(BalanceKind k, std::string_view host) {
  switch (k) {
    case BalanceKind::kMoonshot:
      return ends_with(host, ".cn") ? "CNY" : ends_with(host, ".ai") ? "USD" : "";
    case BalanceKind::kStepFun:
      return ends_with(host, ".com") ? "CNY" : ends_with(host, ".ai") ? "USD" : "";
    case BalanceKind::kSiliconFlow:
      return ends_with(host, ".cn") ? "CNY" : "";  // the .com site's unit is not confirmed [?]
    case BalanceKind::kOpenRouter:
      return "USD";
    default:
      return "";
  }
}

BalanceReading parse_balance(BalanceKind k, long status, std::string_view body, std::string_view host, int64_t now_ms) {
  if (k == BalanceKind::kNone) return failed("no balance endpoint for this provider");
  if (status < 200 || status > 299) return failed("HTTP " + std::to_string(status) + ": " + vendor_message(body));
  rapidjson::Document d;
  json::parse(d, body.data(), body.size());
  if (d.HasParseError()) return failed("unexpected answer: not JSON: " + vendor_message(body));
  if (!d.IsObject()) return failed("unexpected shape: the answer is not a JSON object");
  // An error envelope on a 2xx ({"error":{...}}): the vendor's words beat a "missing" complaint.
  if (auto e = d.FindMember("error"); e != d.MemberEnd() && (e->value.IsObject() || (e->value.IsString() && e->value.GetStringLength())))
    return failed("the vendor answered an error: " + message_of(d));
  BalanceReading r;
  Check c;
  bool ok = false;
  switch (k) {
    case BalanceKind::kDeepSeek: ok = parse_deepseek(d, r, c); break;
    case BalanceKind::kMoonshot: ok = parse_moonshot(d, r, c); break;
    case BalanceKind::kSiliconFlow: ok = parse_siliconflow(d, r, c); break;
    case BalanceKind::kOpenRouter: ok = parse_openrouter(d, r, c, now_ms); break;
    case BalanceKind::kStepFun: ok = parse_stepfun(d, r, c); break;
    case BalanceKind::kXai: ok = parse_xai(d, r, c); break;
    case BalanceKind::kZhipu: ok = parse_zhipu(d, r, c); break;
    case BalanceKind::kMiniMax: ok = parse_minimax(d, r, c); break;
    case BalanceKind::kOpenAIAdmin: ok = parse_openai_admin(d, r, c); break;
    case BalanceKind::kAnthropicAdmin: ok = parse_anthropic_admin(d, r, c); break;
    case BalanceKind::kNone: break;
  }
  if (!ok) return failed(r.error.empty() ? c.error() : r.error);
  if (r.currency.empty()) r.currency = currency_for_host(k, host);
  r.ok = true;
  return r;
}

}  // namespace lingmo::quota
