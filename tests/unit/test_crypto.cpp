#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "crypto/crypto.h"

using lingmo::crypto::SecretKey;
namespace crypto = lingmo::crypto;

namespace {

// 32 bytes 0x00..0x1f in the three accepted spellings.
std::string raw_key() {
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(i));
  return k;
}
const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

SecretKey key_from(const std::string& material) {
  auto k = SecretKey::parse(material);
  INFO((k.ok() ? std::string() : k.error()));
  REQUIRE(k.ok());
  return k.value();
}

// Decodes the base64 payload of a sealed value, lets `mutate` change the bytes, re-seals it.
template <class F>
std::string with_payload(const std::string& sealed, F mutate) {
  size_t p = sealed.rfind(':');
  auto blob = crypto::base64_decode(sealed.substr(p + 1));
  REQUIRE(blob.ok());
  std::string bytes = blob.value();
  mutate(bytes);
  return sealed.substr(0, p + 1) + crypto::base64_encode(bytes);
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/lingmo_key_XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("sha256_hex matches the FIPS 180-2 test vectors", "[crypto]") {
  CHECK(crypto::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(crypto::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("to_hex writes two lowercase digits per byte", "[crypto]") {
  CHECK(crypto::to_hex(std::string("\x00\x0f\xab\xff", 4)) == "000fabff");
  CHECK(crypto::to_hex("") == "");
}

TEST_CASE("random_bytes returns the requested length and differs between calls", "[crypto]") {
  CHECK(crypto::random_bytes(0).empty());
  auto a = crypto::random_bytes(32), b = crypto::random_bytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
}

TEST_CASE("base64 round trip covers every padding case", "[crypto][base64]") {
  // RFC 4648 section 10 vectors: 0, 2 and 1 '=' of padding.
  auto [plain, encoded] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  }));
  CAPTURE(plain);
  CHECK(crypto::base64_encode(plain) == encoded);
  auto dec = crypto::base64_decode(encoded);
  REQUIRE(dec.ok());
  CHECK(dec.value() == plain);
}

TEST_CASE("base64 round trip keeps binary bytes, NUL included", "[crypto][base64]") {
  std::string bin;
  for (int i = 0; i < 256; ++i) bin.push_back(static_cast<char>(i));
  for (size_t len : {size_t(1), size_t(2), size_t(3), size_t(255), size_t(256)}) {
    CAPTURE(len);
    auto dec = crypto::base64_decode(crypto::base64_encode(bin.substr(0, len)));
    REQUIRE(dec.ok());
    CHECK(dec.value() == bin.substr(0, len));
  }
}

TEST_CASE("base64_decode ignores surrounding whitespace", "[crypto][base64]") {
  auto dec = crypto::base64_decode("  Zm9vYg==\n");
  REQUIRE(dec.ok());
  CHECK(dec.value() == "foob");
}

TEST_CASE("base64_decode rejects malformed input as a value, never by throwing", "[crypto][base64]") {
  auto bad = GENERATE(as<std::string>{}, "Zg=", "Zm9vY", "Zm9v!A==", "====", "Z===", "Zg=A", "=Zm9", "Zm=v");
  CAPTURE(bad);
  lingmo::Result<std::string> dec = std::string();
  REQUIRE_NOTHROW(dec = crypto::base64_decode(bad));
  CHECK_FALSE(dec.ok());
}

TEST_CASE("SecretKey::parse accepts 64 hex, 44 base64 and 32 raw bytes of the same key", "[crypto][key]") {
  SecretKey from_hex = key_from(kHexKey);
  SecretKey from_upper_hex = key_from("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  SecretKey from_b64 = key_from(crypto::base64_encode(raw_key()));
  SecretKey from_raw = key_from(raw_key());
  SecretKey from_padded = key_from("  " + kHexKey + "\n");

  CHECK(crypto::base64_encode(raw_key()).size() == 44);
  CHECK(from_hex.hex() == kHexKey);
  CHECK(from_hex.id() == crypto::sha256_hex(raw_key()).substr(0, 8));
  for (const SecretKey* k : {&from_upper_hex, &from_b64, &from_raw, &from_padded}) {
    CHECK(k->hex() == kHexKey);
    CHECK(k->id() == from_hex.id());
  }
}

TEST_CASE("SecretKey::parse rejects material of the wrong size or alphabet", "[crypto][key]") {
  auto bad = GENERATE(as<std::string>{},
                      "",
                      kHexKey.substr(0, 62),                      // 31 bytes of hex
                      kHexKey + "00",                             // 33 bytes of hex
                      std::string(64, 'g'),                       // 64 chars, not hex
                      std::string(31, 'x'),                       // 31 raw bytes
                      std::string(33, 'x'),                       // 33 raw bytes
                      crypto::base64_encode(std::string(33, 'x'))  // 44 base64 chars, 33 bytes
  );
  CAPTURE(bad);
  auto k = SecretKey::parse(bad);
  REQUIRE_FALSE(k.ok());
  CHECK_THAT(k.error(), Catch::Contains("32 bytes"));
}

TEST_CASE("SecretKey::generate makes distinct keys whose hex parses back", "[crypto][key]") {
  SecretKey a = SecretKey::generate(), b = SecretKey::generate();
  CHECK(a.hex() != b.hex());
  CHECK(a.id().size() == 8);
  CHECK(key_from(a.hex()).id() == a.id());
}

TEST_CASE("SecretKey::load_file accepts a key file ending with a newline", "[crypto][key]") {
  TempFile f(kHexKey + "\n");
  auto k = SecretKey::load_file(f.path);
  REQUIRE(k.ok());
  CHECK(k->hex() == kHexKey);

  auto missing = SecretKey::load_file("/nonexistent/lingmo.key");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error(), Catch::Contains("cannot open"));

  TempFile short_file("abcd\n");
  auto bad = SecretKey::load_file(short_file.path);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error(), Catch::Contains(short_file.path));
}

TEST_CASE("encrypt/decrypt round trip with the provider id as associated data", "[crypto][aead]") {
  SecretKey key = key_from(kHexKey);
  const std::string plaintext = GENERATE(as<std::string>{}, "sk-test-0123456789", "", std::string(1000, 'k'));
  std::string sealed = key.encrypt(plaintext, "deepseek");

  CHECK_THAT(sealed, Catch::StartsWith("lmk1:" + key.id() + ":"));
  if (!plaintext.empty()) CHECK(sealed.find(plaintext) == std::string::npos);
  auto back = key.decrypt(sealed, "deepseek");
  REQUIRE(back.ok());
  CHECK(back.value() == plaintext);
}

TEST_CASE("two encryptions of the same plaintext differ (random nonce)", "[crypto][aead]") {
  SecretKey key = key_from(kHexKey);
  std::string a = key.encrypt("sk-same", "p1"), b = key.encrypt("sk-same", "p1");
  CHECK(a != b);
  CHECK(key.decrypt(a, "p1").value() == "sk-same");
  CHECK(key.decrypt(b, "p1").value() == "sk-same");
}

TEST_CASE("decrypt fails with another provider id as associated data", "[crypto][aead]") {
  SecretKey key = key_from(kHexKey);
  auto r = key.decrypt(key.encrypt("sk-test", "p1"), "p2");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("authentication failed"));
}

TEST_CASE("decrypt with another secret key names both key ids", "[crypto][aead]") {
  SecretKey mine = key_from(kHexKey), other = SecretKey::generate();
  auto r = other.decrypt(mine.encrypt("sk-test", "p1"), "p1");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("another secret key") && Catch::Contains(mine.id()) &&
                            Catch::Contains(other.id()));
  CHECK_THAT(r.error(), !Catch::Contains("sk-test"));
}

TEST_CASE("decrypt detects a tampered nonce, ciphertext or tag", "[crypto][aead]") {
  SecretKey key = key_from(kHexKey);
  std::string sealed = key.encrypt("sk-test-0123456789", "p1");
  // blob layout: 12-byte nonce | ciphertext | 16-byte tag
  size_t index = GENERATE(size_t(0), size_t(12), size_t(12 + 17));
  CAPTURE(index);
  std::string tampered = with_payload(sealed, [&](std::string& b) {
    REQUIRE(index < b.size());
    b[index] = static_cast<char>(b[index] ^ 0x01);
  });
  REQUIRE(tampered != sealed);
  auto r = key.decrypt(tampered, "p1");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("authentication failed"));
}

TEST_CASE("decrypt rejects values that are not well-formed lmk1 blobs", "[crypto][aead]") {
  SecretKey key = key_from(kHexKey);
  std::string sealed = key.encrypt("sk-test", "p1");
  std::string prefix = "lmk1:" + key.id() + ":";

  CHECK_THAT(key.decrypt("sk-plaintext", "p1").error(), Catch::Contains("not an lmk1"));
  CHECK_THAT(key.decrypt("lmk2" + sealed.substr(4), "p1").error(), Catch::Contains("not an lmk1"));
  CHECK_THAT(key.decrypt(prefix, "p1").error(), Catch::Contains("corrupt"));
  CHECK_THAT(key.decrypt(prefix + "not*base64", "p1").error(), Catch::Contains("corrupt"));
  CHECK_THAT(key.decrypt(prefix + "====", "p1").error(), Catch::Contains("corrupt"));
  std::string truncated = with_payload(sealed, [](std::string& b) { b.resize(27); });  // < nonce + tag
  CHECK_THAT(key.decrypt(truncated, "p1").error(), Catch::Contains("corrupt"));
}

TEST_CASE("key rotation: a key file with several keys seals with the first and unseals with any", "[crypto]") {
  auto old_key = crypto::SecretKey::generate();
  auto new_key = crypto::SecretKey::generate();
  std::string sealed_old = old_key.encrypt("sk-vendor-1", "p1");
  auto ring = crypto::SecretKey::parse(new_key.hex() + "\n# the key it replaces\n" + old_key.hex() + "\n");
  REQUIRE(ring);
  CHECK(ring->id() == new_key.id());
  CHECK(ring->previous_count() == 1);
  CHECK(ring->decrypt(sealed_old, "p1").value() == "sk-vendor-1");  // old values still open
  CHECK(ring->is_stale(sealed_old));
  std::string resealed = ring->encrypt("sk-vendor-1", "p1");
  CHECK_FALSE(ring->is_stale(resealed));
  CHECK(resealed.find(":" + new_key.id() + ":") != std::string::npos);
  CHECK(new_key.decrypt(resealed, "p1").value() == "sk-vendor-1");
  CHECK_FALSE(old_key.decrypt(resealed, "p1"));     // the old key alone cannot open new values
  CHECK_FALSE(ring->decrypt(sealed_old, "p2"));     // the provider id still binds
  auto other = crypto::SecretKey::generate();
  auto err = ring->decrypt(other.encrypt("x", "p1"), "p1");
  REQUIRE_FALSE(err);
  CHECK_THAT(err.error(), Catch::Contains(other.id()));
  CHECK_FALSE(crypto::SecretKey::parse(new_key.hex() + "\nnot-a-key\n"));
}
