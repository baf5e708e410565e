#include "crypto/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <vector>

#include "crypto/crypto.h"

namespace lingmo::crypto {

namespace {

constexpr size_t kHashBytes = 32;

bool derive(std::string_view password, std::string_view salt, const ScryptCost& c, unsigned char* out) {
  // maxmem: 128 * r * N bytes plus headroom; OpenSSL refuses costs above it.
  uint64_t maxmem = 128 * c.r * c.n + (1 << 20) + 128 * c.r * c.p;
  return EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                        c.n, c.r, c.p, maxmem, out, kHashBytes) == 1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 12) return false;
  out = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + static_cast<uint64_t>(ch - '0');
  }
  return true;
}

}  // namespace

std::string hash_password(std::string_view password, const ScryptCost& cost) {
  std::string salt = random_bytes(16);
  unsigned char out[kHashBytes];
  if (!derive(password, salt, cost, out)) throw std::runtime_error("scrypt failed");
  return "scrypt$" + std::to_string(cost.n) + "$" + std::to_string(cost.r) + "$" + std::to_string(cost.p) + "$" +
         base64_encode(salt) + "$" + base64_encode(std::string_view(reinterpret_cast<const char*>(out), kHashBytes));
}

bool verify_password(std::string_view password, std::string_view stored) {
  auto parts = split(stored, '$');
  ScryptCost c;
  if (parts.size() != 6 || parts[0] != "scrypt" || !parse_u64(parts[1], c.n) || !parse_u64(parts[2], c.r) ||
      !parse_u64(parts[3], c.p))
    return false;
  // Bounds keep a tampered record from asking for absurd memory or time.
  if (c.n < 2 || c.n > (1u << 20) || (c.n & (c.n - 1)) != 0 || c.r < 1 || c.r > 32 || c.p < 1 || c.p > 16) return false;
  auto salt = base64_decode(parts[4]);
  auto want = base64_decode(parts[5]);
  if (!salt || !want || want.value().size() != kHashBytes) return false;
  unsigned char got[kHashBytes];
  if (!derive(password, salt.value(), c, got)) return false;
  return CRYPTO_memcmp(got, want.value().data(), kHashBytes) == 0;
}

std::string random_password(size_t length) {
  static constexpr std::string_view kAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  while (out.size() < length) {
    std::string bytes = random_bytes(length);
    for (unsigned char b : bytes) {
      // Rejection sampling: no modulo bias.
      if (b >= 256 - (256 % kAlphabet.size())) continue;
      out += kAlphabet[b % kAlphabet.size()];
      if (out.size() == length) break;
    }
  }
  return out;
}

}  // namespace lingmo::crypto
