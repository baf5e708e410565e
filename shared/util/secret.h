// Showing secrets without revealing them: the masked form of a key, and redaction of a key that
// a vendor quoted back (some vendors' auth errors echo the key they were sent) before that text
// travels anywhere — to the client, a log line, a park reason in Redis, an alert.
#pragma once
#include <string>
#include <string_view>

namespace lingmo::secret {

// "sk-****cdef": the first 3 and last 4 characters; "****" for keys of 8 characters or fewer.
inline std::string mask(std::string_view k) {
  if (k.size() <= 8) return "****";
  return std::string(k.substr(0, 3)) + "****" + std::string(k.substr(k.size() - 4));
}

// Replaces every occurrence of `key` in `text` by mask(key). Returns whether anything was found.
// Keys shorter than 8 characters are left alone: too short to be told apart from ordinary text.
inline bool redact(std::string& text, std::string_view key) {
  if (key.size() < 8 || text.size() < key.size()) return false;
  size_t at = text.find(key);
  if (at == std::string::npos) return false;
  const std::string masked = mask(key);
  for (; at != std::string::npos; at = text.find(key, at + masked.size())) text.replace(at, key.size(), masked);
  return true;
}

}  // namespace lingmo::secret
