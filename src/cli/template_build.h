#pragma once
// Builds (or finds cached) a template with a progress bar; Ctrl-C stops mmdebstrap and removes the half-built
// tree instead of leaving it behind.

#include <string>

#include "template/template_info.h"

namespace cellblock::cli {

Result<templates::TemplateInfo> build_template(const std::string& cache_dir, const std::string& name,
                                               const std::string& recipe_dir);

}  // namespace cellblock::cli
