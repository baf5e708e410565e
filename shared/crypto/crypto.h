// Crypto for secrets at rest (ARCHITECTURE decision 7), all through OpenSSL:
//  - vendor API keys: AES-256-GCM, random 96-bit nonce, the provider id as associated data, stored
//    as "lmk1:<key id>:<base64(nonce | ciphertext | tag)>" so a key rotation can tell old from new;
//  - gateway keys: stored only as their SHA-256 (they are long random tokens, not passwords).
// Never logs and never returns a secret inside an error message.
#pragma once
#include <array>
#include <vector>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lingmo::crypto {

std::string sha256_hex(std::string_view data);
std::string random_bytes(size_t n);          // CSPRNG (RAND_bytes); throws only if OpenSSL fails
std::string to_hex(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

// The 256-bit master key that encrypts vendor keys — with the keys it replaced, for rotation.
// A key file holds one key per line: the first seals, every line can unseal (each sealed value
// names its key's id). Rotating: put a new key on the first line, reload nginx and restart the
// daemon (both now read old and new), run `lingmo-admin rotate-secret` (re-seals every vendor key
// under the new one), then drop the old line (docs/ADMIN_CLI.md).
class SecretKey {
 public:
  // One key: 64 hex chars, standard base64 of 32 bytes, or exactly 32 raw bytes; surrounding
  // whitespace is ignored (key files usually end with a newline). Several keys: one per line
  // (hex or base64), the current one first.
  static Result<SecretKey> parse(std::string_view material);
  static Result<SecretKey> load_file(const std::string& path);
  static SecretKey generate();

  const std::string& id() const { return id_; }   // first 8 hex of SHA-256(key): identifies, never reveals
  std::string hex() const { return to_hex(std::string_view(reinterpret_cast<const char*>(key_.data()), key_.size())); }
  size_t previous_count() const { return previous_.size(); }

  std::string encrypt(std::string_view plaintext, std::string_view associated_data) const;  // with the current key
  Result<std::string> decrypt(std::string_view sealed, std::string_view associated_data) const;  // with whichever sealed it
  // Sealed with a key other than the current one (and so due for re-sealing after a rotation).
  bool is_stale(std::string_view sealed) const;

 private:
  static Result<SecretKey> parse_one(std::string_view material);
  Result<std::string> open(std::string_view sealed, std::string_view aad, const std::array<unsigned char, 32>& key) const;

  std::array<unsigned char, 32> key_{};
  std::string id_;
  std::vector<SecretKey> previous_;
};

}  // namespace lingmo::crypto
