#include "common/file_signature.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/encoding.h"

namespace cellblock {

bool secure_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string file_signature(std::string_view path, std::string_view operation, std::string_view username,
                           std::string_view token, std::optional<std::int64_t> expiration) {
  std::string text;
  text.append(path).append(":").append(operation).append(":").append(username).append(":").append(token);
  if (expiration) text.append(":").append(std::to_string(*expiration));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return "v1_" +
         base64_encode_unpadded(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string traffic_access_token(std::string_view sandbox_id, std::string_view envd_token) {
  std::string text = "traffic:";
  text.append(sandbox_id).append(":").append(envd_token);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return hex_encode(std::span<const unsigned char>(digest, 20));
}

}  // namespace cellblock
