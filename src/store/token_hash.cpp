#include "store/token_hash.h"

#include <openssl/evp.h>

#include <array>

#include "common/encoding.h"

namespace cellblock::store {

Result<std::string> sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    return fail(ErrorCode::kInternal, "OpenSSL SHA-256 failed");
  }
  return hex_encode({digest.data(), size});
}

}  // namespace cellblock::store
