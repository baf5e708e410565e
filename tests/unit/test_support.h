// Fixture helpers shared by the unit tests.
#pragma once
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "sse/framer.h"
#include "util/json.h"
#include <ctime>

namespace lingmo::sse {
inline bool operator==(const Event& a, const Event& b) {
  return a.event == b.event && a.data == b.data && a.id == b.id;
}
inline std::ostream& operator<<(std::ostream& os, const Event& e) {
  return os << "{event=" << json::quote(e.event) << " data=" << json::quote(e.data) << " id=" << json::quote(e.id) << "}";
}
}  // namespace lingmo::sse

namespace lingmo::test {

// STYLE: every stream fixture is replayed at chunk sizes 1, 7 and whole, and must match.
inline constexpr size_t kWhole = 0;
inline const std::vector<size_t> kChunkSizes = {1, 7, kWhole};

// Splits `bytes` into slices of `chunk` bytes (kWhole: one slice).
inline std::vector<std::string_view> slices(std::string_view bytes, size_t chunk) {
  std::vector<std::string_view> out;
  if (chunk == kWhole) chunk = std::max<size_t>(bytes.size(), 1);
  for (size_t i = 0; i < bytes.size(); i += chunk) out.push_back(bytes.substr(i, chunk));
  return out;
}

// Feeds the slices to a fresh framer and returns every event it produced.
inline std::vector<sse::Event> frame(const std::vector<std::string_view>& parts) {
  sse::Framer f;
  std::vector<sse::Event> events;
  for (auto p : parts) REQUIRE(f.feed(p, events));
  CHECK_FALSE(f.mid_event());
  return events;
}

inline std::vector<sse::Event> frame(std::string_view bytes, size_t chunk) { return frame(slices(bytes, chunk)); }

inline sse::Event data_event(std::string data, std::string event = {}, std::string id = {}) {
  return sse::Event{std::move(event), std::move(data), std::move(id)};
}

// Parses JSON the test itself expects to be valid.
inline rapidjson::Document parse_json(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  INFO("JSON: " << text);
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

// How many members of `obj` are named `name` (duplicates included).
inline int count_members(const rapidjson::Value& obj, std::string_view name) {
  int n = 0;
  for (const auto& m : obj.GetObject())
    if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == name) ++n;
  return n;
}

// A valid provider JSON: provider_json("p1", R"(["m1"])", R"("priority":5)"). `extra_fields` must
// not repeat id, base_url or models.
inline std::string provider_json(std::string_view id, std::string_view models = R"(["m1"])",
                                 std::string_view extra_fields = {}) {
  std::string s = R"({"id":")" + std::string(id) + R"(","base_url":"https://api.example.com/v1","models":)" +
                  std::string(models);
  if (!extra_fields.empty()) s += "," + std::string(extra_fields);
  return s + "}";
}

}  // namespace lingmo::test

// Epoch milliseconds of a UTC civil time, computed by the C library (independent of the code
// under test).
inline int64_t epoch_ms(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}
