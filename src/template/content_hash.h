#pragma once
// A template's identity: equal hashes mean the builder would produce the same root filesystem, so a cached
// one can be reused; anything that changes the result (the recipe, a copied file's bytes, name or mode, the
// way the builder works) changes the hash.

#include <string>

#include "common/error.h"
#include "template/recipe_context.h"

namespace cellblock::templates {

// Bump whenever the builder changes what it puts into a root filesystem (hooks, clean-up, ownership shift,
// ...).
inline constexpr int kBuilderFormatVersion = 2;

// SHA-256 (64 lowercase hex digits) over the builder format version, the recipe text and, for every COPY
// source in order, the relative path, kind, mode and bytes (or symlink target) of each entry it copies.
Result<std::string> content_hash(const RecipeContext& context);

}  // namespace cellblock::templates
