#include "template/content_hash.h"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "common/encoding.h"

namespace cellblock::templates {
namespace {

class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr);
  }

  void update(std::string_view bytes) { EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()); }

  // Length-prefixed, so that no two different sequences of fields feed the same bytes.
  void field(std::string_view bytes) {
    update(fmt::format("{}:", bytes.size()));
    update(bytes);
  }

  std::string hex_digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_.get(), digest.data(), &length);
    return hex_encode(std::span<const unsigned char>(digest.data(), length));
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

Status hash_file(Sha256& sha, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, fmt::format("cannot read {}", path.string()));
  std::error_code ec;
  sha.update(fmt::format("{}:", std::filesystem::file_size(path, ec)));
  std::array<char, 1 << 16> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    sha.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
  }
  return {};
}

Status hash_copy_source(Sha256& sha, const RecipeContext& context, const std::string& source) {
  auto path = resolve_copy_source(context, source);
  if (!path) return tl::unexpected(path.error());
  auto entries = list_copy_entries(*path);
  if (!entries) return tl::unexpected(entries.error());
  sha.field("source");
  sha.field(source);
  for (const auto& entry : *entries) {
    sha.field(entry.relative.string());
    sha.field(fmt::format("{}:{:o}", static_cast<int>(entry.kind), entry.mode));
    if (entry.kind == CopyEntry::Kind::kSymlink) sha.field(entry.link_target);
    if (entry.kind == CopyEntry::Kind::kFile) {
      if (auto status = hash_file(sha, entry.absolute); !status) return status;
    }
  }
  return {};
}

}  // namespace

Result<std::string> content_hash(const RecipeContext& context) {
  Sha256 sha;
  sha.field(fmt::format("cellblock-template-format-{}", kBuilderFormatVersion));
  sha.field(context.text);
  for (const auto& step : context.recipe.steps) {
    const auto* copy = std::get_if<CopyStep>(&step.action);
    if (copy == nullptr) continue;
    for (const auto& source : copy->sources) {
      if (auto status = hash_copy_source(sha, context, source); !status)
        return tl::unexpected(status.error());
    }
  }
  return sha.hex_digest();
}

}  // namespace cellblock::templates
