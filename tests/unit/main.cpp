// Catch2 v2 supplies main(); every other file in tests/unit/ only holds TEST_CASEs.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
