#include <catch2/catch.hpp>

#include "openai/errors.h"
#include "test_support.h"

namespace openai = lingmo::openai;

TEST_CASE("error_body uses OpenAI's shape with null for empty param and code", "[errors]") {
  CHECK(openai::error_body(openai::invalid_request("bad \"model\"", "model")) ==
        R"({"error":{"message":"bad \"model\"","type":"invalid_request_error","param":"model","code":null}})");
  openai::ApiError e{429, "insufficient_quota", "insufficient_quota", "quota", ""};
  CHECK(openai::error_body(e) ==
        R"({"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})");
}

TEST_CASE("error_event is one SSE data event", "[errors]") {
  openai::ApiError e = openai::invalid_request("x");
  CHECK(e.status == 400);
  CHECK(openai::error_event(e) == "data: " + openai::error_body(e) + "\n\n");
}
