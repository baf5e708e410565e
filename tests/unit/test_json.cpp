#include <catch2/catch.hpp>

#include "test_support.h"
#include "util/json.h"

namespace json = lingmo::json;
using lingmo::test::parse_json;

TEST_CASE("get_int reads integers, truncates fractions and rejects what does not fit", "[json]") {
  auto d = parse_json(R"({"i":42,"neg":-7,"big":9007199254740993,"frac":2.9,"huge":1e30,"u64":18446744073709551615,)"
                      R"("s":"5","n":null})");
  CHECK(json::get_int(d, "i") == 42);
  CHECK(json::get_int(d, "neg") == -7);
  CHECK(json::get_int(d, "big") == 9007199254740993LL);
  CHECK(json::get_int(d, "frac") == 2);
  CHECK(json::get_int(d, "huge", -1) == -1);  // would be undefined behaviour to cast
  CHECK(json::get_int(d, "u64", -1) == -1);
  CHECK(json::get_int(d, "s", -1) == -1);
  CHECK(json::get_int(d, "n", -1) == -1);
  CHECK(json::get_int(d, "missing", 9) == 9);
  CHECK(json::get_int(parse_json("[1]"), "i", 9) == 9);
}

TEST_CASE("get_string and get_bool fall back to the default on the wrong type", "[json]") {
  auto d = parse_json(R"({"s":"a\u0000b","b":true,"num":1})");
  CHECK(json::get_string(d, "s") == std::string("a\0b", 3));
  CHECK(json::get_string(d, "num", "def") == "def");
  CHECK(json::get_bool(d, "b"));
  CHECK(json::get_bool(d, "num", true));
  CHECK_FALSE(json::get_bool(d, "missing"));
}

TEST_CASE("quote and stringify produce JSON", "[json]") {
  CHECK(json::quote("a\"b\\c\n") == R"("a\"b\\c\n")");
  CHECK(json::stringify(parse_json(R"({ "a" : [1, 2] })")) == R"({"a":[1,2]})");
}

TEST_CASE("nesting deeper than kMaxDepth is refused before parsing, strings do not count", "[json]") {
  CHECK(lingmo::json::within_depth("[[[]]]", 3));
  CHECK_FALSE(lingmo::json::within_depth("[[[[]]]]", 3));
  CHECK(lingmo::json::within_depth(R"({"a":"[[[[[[[[\"{{{{"})", 1));
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  rapidjson::Document d;
  lingmo::json::parse(d, deep.data(), deep.size());  // would exhaust the stack in RapidJSON's recursive parser
  CHECK(d.HasParseError());
  std::string ok = std::string(lingmo::json::kMaxDepth, '[') + std::string(lingmo::json::kMaxDepth, ']');
  lingmo::json::parse(d, ok.data(), ok.size());
  CHECK_FALSE(d.HasParseError());
}
