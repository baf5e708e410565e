// Admin passwords at rest: scrypt (OpenSSL EVP_PBE_scrypt) with a random 16-byte salt, stored as
// "scrypt$N$r$p$<base64 salt>$<base64 hash>" so the cost can be raised later without breaking
// stored hashes. Verification is constant-time. Never logs or returns the password.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace lingmo::crypto {

struct ScryptCost {
  uint64_t n = 1 << 15;  // ~32 MiB and ~0.1 s per hash: slow for guessing, fine for a login
  uint64_t r = 8;
  uint64_t p = 1;
};

std::string hash_password(std::string_view password, const ScryptCost& cost = {});
bool verify_password(std::string_view password, std::string_view stored);

// A random password of `length` characters from an unambiguous alphabet (no 0/O, 1/l/I).
std::string random_password(size_t length = 20);

}  // namespace lingmo::crypto
