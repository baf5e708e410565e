#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace lingmo::crypto {
namespace {

constexpr const char* kPrefix = "lmk1";
constexpr size_t kNonceLen = 12;
constexpr size_t kTagLen = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  text = trim(text);
  if (text.size() % 4 != 0) return Result<std::string>::fail("base64 length is not a multiple of 4");
  // At most two '=', and only at the end (EVP_DecodeBlock accepts them anywhere; "====" would
  // otherwise make the size below underflow).
  size_t pad = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++pad;
  if (pad > 2 || text.find('=') < text.size() - pad) return Result<std::string>::fail("invalid base64");
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return Result<std::string>::fail("invalid base64");
  // EVP_DecodeBlock counts padding as data; drop one byte per '='.
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

Result<SecretKey> SecretKey::parse(std::string_view material) {
  // One key (the usual file, or 32 raw bytes that may contain a newline), else one per line.
  auto single = parse_one(material);
  if (single) return single;
  std::vector<SecretKey> keys;
  for (size_t pos = 0; pos < material.size();) {
    size_t nl = material.find('\n', pos);
    std::string_view line = trim(material.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    if (!line.empty() && line.front() != '#') {
      auto k = parse_one(line);
      if (!k) return Result<SecretKey>::fail("key " + std::to_string(keys.size() + 1) + ": " + k.error());
      keys.push_back(std::move(k.value()));
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (keys.empty()) return single;
  SecretKey current = keys.front();
  current.previous_.assign(keys.begin() + 1, keys.end());
  return current;
}

Result<SecretKey> SecretKey::parse_one(std::string_view material) {
  std::string raw;
  std::string_view t = trim(material);
  if (t.size() == 64) {
    raw.resize(32);
    for (size_t i = 0; i < 32; ++i) {
      int hi = hexval(t[2 * i]), lo = hexval(t[2 * i + 1]);
      if (hi < 0 || lo < 0) { raw.clear(); break; }
      raw[i] = static_cast<char>(hi * 16 + lo);
    }
  }
  if (raw.empty() && t.size() == 44) {
    auto dec = base64_decode(t);
    if (dec && dec.value().size() == 32) raw = dec.value();
  }
  if (raw.empty() && material.size() == 32) raw = std::string(material);
  if (raw.size() != 32)
    return Result<SecretKey>::fail("secret key must be 32 bytes: 64 hex characters, 44 base64 characters or 32 raw bytes");
  SecretKey k;
  std::copy(raw.begin(), raw.end(), k.key_.begin());
  k.id_ = sha256_hex(raw).substr(0, 8);
  return k;
}

Result<SecretKey> SecretKey::load_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Result<SecretKey>::fail("cannot open secret key file \"" + path + "\"");
  std::stringstream ss;
  ss << f.rdbuf();
  auto k = parse(ss.str());  // one key, or a keyring (one per line)
  if (!k) return Result<SecretKey>::fail("secret key file \"" + path + "\": " + k.error());
  return k;
}

SecretKey SecretKey::generate() { return parse(to_hex(random_bytes(32))).value(); }

std::string SecretKey::encrypt(std::string_view plaintext, std::string_view aad) const {
  std::string nonce = random_bytes(kNonceLen);
  std::string ct(plaintext.size(), '\0');
  unsigned char tag[kTagLen];
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  auto u = [](std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); };
  auto cu = [](std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); };
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), cu(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, cu(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), u(ct), &len, cu(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), u(ct) + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLen, tag) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  std::string blob = nonce + ct + std::string(reinterpret_cast<char*>(tag), kTagLen);
  return std::string(kPrefix) + ":" + id_ + ":" + base64_encode(blob);
}

bool SecretKey::is_stale(std::string_view sealed) const {
  size_t p1 = sealed.find(':');
  size_t p2 = p1 == std::string_view::npos ? p1 : sealed.find(':', p1 + 1);
  return p2 != std::string_view::npos && sealed.substr(p1 + 1, p2 - p1 - 1) != id_;
}

Result<std::string> SecretKey::decrypt(std::string_view sealed, std::string_view aad) const {
  using R = Result<std::string>;
  size_t p1 = sealed.find(':');
  size_t p2 = p1 == std::string_view::npos ? p1 : sealed.find(':', p1 + 1);
  if (p2 == std::string_view::npos || sealed.substr(0, p1) != kPrefix) return R::fail("not an lmk1 sealed value");
  std::string_view id = sealed.substr(p1 + 1, p2 - p1 - 1);
  if (id == id_) return open(sealed.substr(p2 + 1), aad, key_);
  for (const auto& old : previous_)
    if (id == old.id_) return open(sealed.substr(p2 + 1), aad, old.key_);
  return R::fail("sealed with another secret key (id " + std::string(id) + ", ours " + id_ + ")");
}

Result<std::string> SecretKey::open(std::string_view body, std::string_view aad, const std::array<unsigned char, 32>& key) const {
  using R = Result<std::string>;
  auto blob = base64_decode(body);
  if (!blob || blob.value().size() < kNonceLen + kTagLen) return R::fail("sealed value is corrupt");
  const std::string& b = blob.value();
  size_t ct_len = b.size() - kNonceLen - kTagLen;
  const auto* bytes = reinterpret_cast<const unsigned char*>(b.data());
  std::string pt(ct_len, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  unsigned char tag[kTagLen];
  std::copy(bytes + kNonceLen + ct_len, bytes + b.size(), tag);
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), bytes) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(pt.data()), &len, bytes + kNonceLen,
                              static_cast<int>(ct_len)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLen, tag) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(pt.data()) + len, &len) == 1;
  if (!ok) return R::fail("authentication failed (wrong key, wrong provider id or tampered value)");
  return pt;
}

}  // namespace lingmo::crypto
