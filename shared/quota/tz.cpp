#include "quota/tz.h"

#include "util/civil.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <fstream>
#include <map>
#include <iterator>

namespace lingmo::quota {

namespace {

uint32_t be32(const unsigned char* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }
int64_t be64(const unsigned char* p) { return static_cast<int64_t>((uint64_t(be32(p)) << 32) | be32(p + 4)); }

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64 || n[0] == '/' || n.find("..") != std::string::npos) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+')) return false;
  return true;
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::utc() {
  static const auto z = [] {
    auto t = std::make_shared<TimeZone>();
    t->name_ = "UTC";
    return t;
  }();
  return z;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::load(const std::string& name, const std::string& dir) {
  using R = Result<std::shared_ptr<const TimeZone>>;
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return utc();
  if (!valid_name(name)) return R::fail("invalid time zone name \"" + name + "\"");
  std::ifstream f(dir + "/" + name, std::ios::binary);
  if (!f) return R::fail("unknown time zone \"" + name + "\"");
  std::vector<unsigned char> b;
  try {  // libstdc++ throws on a read error, e.g. when `name` is a directory ("America")
    b.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    return R::fail("unknown time zone \"" + name + "\"");
  }
  auto bad = [&] { return R::fail("time zone file for \"" + name + "\" is not a TZif file"); };
  if (b.size() < 44 || b[0] != 'T' || b[1] != 'Z' || b[2] != 'i' || b[3] != 'f') return bad();
  // Counts of a header at `h`: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
  auto counts = [&](size_t h, uint32_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = be32(&b[h + 20 + 4 * i]);
  };
  auto block_size = [](const uint32_t c[6], size_t tsize) {
    return c[3] * tsize + c[3] + size_t{c[4]} * 6 + c[5] + c[2] * (tsize + 4) + c[1] + c[0];  // size_t: no 32-bit wrap
  };
  uint32_t c[6];
  counts(0, c);
  size_t h = 0, tsize = 4;
  if (b[4] >= '2') {  // skip the 32-bit block, use the 64-bit one
    h = 44 + block_size(c, 4);
    if (b.size() < h + 44) return bad();
    counts(h, c);
    tsize = 8;
  }
  size_t p = h + 44;
  if (b.size() < p + block_size(c, tsize)) return bad();
  auto z = std::make_shared<TimeZone>();
  z->name_ = name;
  std::vector<uint8_t> idx(c[3]);
  for (uint32_t i = 0; i < c[3]; ++i) z->transitions_.push_back(tsize == 8 ? be64(&b[p + 8 * i]) : int32_t(be32(&b[p + 4 * i])));
  p += c[3] * tsize;
  for (uint32_t i = 0; i < c[3]; ++i) idx[i] = b[p + i];
  p += c[3];
  std::vector<int32_t> utoff(c[4]);
  std::vector<bool> isdst(c[4]);
  for (uint32_t i = 0; i < c[4]; ++i) {
    utoff[i] = static_cast<int32_t>(be32(&b[p + 6 * i]));
    isdst[i] = b[p + 6 * i + 4] != 0;
  }
  if (c[4] == 0) return bad();
  for (uint8_t i : idx) {
    if (i >= c[4]) return bad();
    z->offsets_.push_back(utoff[i]);
  }
  // Before the first transition: the first standard-time type (RFC 8536 §3.2).
  z->initial_offset_ = utoff[0];
  for (uint32_t i = 0; i < c[4]; ++i)
    if (!isdst[i]) {
      z->initial_offset_ = utoff[i];
      break;
    }
  return std::shared_ptr<const TimeZone>(std::move(z));
}

Result<std::shared_ptr<const TimeZone>> TimeZone::cached(const std::string& name) {
  static std::map<std::string, Result<std::shared_ptr<const TimeZone>>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  if (cache.size() > 256) cache.clear();  // names come from config: keep it bounded
  return cache.emplace(name, load(name)).first->second;
}

int32_t TimeZone::offset_s(int64_t t) const {
  // Beyond the table (fat files run to 2037) the last offset holds; DST rules past it are ignored.
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<size_t>(it - transitions_.begin() - 1)];
}

TimeZone::Civil TimeZone::civil(int64_t t) const {
  int64_t local = t + offset_s(t);
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  int64_t secs = local - days * 86400;
  // civil_from_days (Howard Hinnant's algorithm)
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  Civil cv;
  cv.year = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  cv.month = static_cast<int>(m);
  cv.day = static_cast<int>(d);
  cv.hour = static_cast<int>(secs / 3600);
  cv.minute = static_cast<int>(secs % 3600 / 60);
  cv.second = static_cast<int>(secs % 60);
  cv.weekday = static_cast<int>(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday (3)
  return cv;
}

int64_t TimeZone::from_civil(int64_t year, int month, int day, int hour, int minute) const {
  // Normalise month overflow (month 13 = January next year) so callers can step months.
  year += (month - 1) / 12;
  month = (month - 1) % 12 + 1;
  int64_t local = civil::days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 + minute * 60;
  // Try the offsets in force a day before and a day after: a candidate is real if that offset is
  // in force at it. Both real (repeated time): the earlier. Neither (skipped time): the offset
  // from before the gap, which lands as far past the gap's end as the time was past its start.
  const int32_t before = offset_s(local - 86400), after = offset_s(local + 86400);
  const int64_t t1 = local - before, t2 = local - after;
  const bool ok1 = offset_s(t1) == before, ok2 = offset_s(t2) == after;
  if (ok1 && ok2) return std::min(t1, t2);
  return ok2 ? t2 : t1;
}

int64_t TimeZone::day_start(int64_t t) const {
  Civil cv = civil(t);
  return from_civil(cv.year, cv.month, cv.day);
}

int64_t TimeZone::next_day_start(int64_t t) const {
  Civil cv = civil(t);
  int64_t d = civil::days_from_civil(cv.year, static_cast<unsigned>(cv.month), static_cast<unsigned>(cv.day)) + 1;
  // back to civil for the next day
  Civil n = TimeZone::utc()->civil(d * 86400);
  return from_civil(n.year, n.month, n.day);
}

}  // namespace lingmo::quota
