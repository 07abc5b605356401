#include "template/progress_tracker.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <numeric>

#include <fmt/format.h>

namespace cellblock::templates {
namespace {

// Relative cost of each kind of step; installing packages dominates any real recipe.
constexpr double kBaseWeight = 20;
constexpr double kInstallWeight = 50;
constexpr double kRunWeight = 6;
constexpr double kCopyWeight = 1;
constexpr double kFinishWeight = 4;

// mmdebstrap's phases in the order it runs them, with the share of the base step done when each begins.
struct BasePhase {
  std::string_view marker;
  double fraction;
};
constexpr BasePhase kBasePhases[] = {
    {"running apt-get update", 0.05},        {"downloading packages", 0.15},
    {"extracting archives", 0.45},           {"installing essential packages", 0.60},
    {"installing remaining packages", 0.80},
};

double weight_of(const StepAction& action) {
  if (std::holds_alternative<FromStep>(action)) return kBaseWeight;
  if (const auto* run = std::get_if<RunStep>(&action)) {
    const bool installs = run->command.find("apt-get install") != std::string::npos ||
                          run->command.find("apt install") != std::string::npos;
    return installs ? kInstallWeight : kRunWeight;
  }
  if (std::holds_alternative<CopyStep>(action)) return kCopyWeight;
  return 0;
}

// One line, single spaces: continuation lines make long runs of blanks.
std::string collapse_whitespace(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

ProgressTracker::ProgressTracker(const Recipe& recipe, ProgressCallback callback)
    : callback_(std::move(callback)) {
  for (const auto& step : recipe.steps) {
    texts_.push_back(collapse_whitespace(step.text));
    weights_.push_back(weight_of(step.action));
  }
  total_weight_ = std::accumulate(weights_.begin(), weights_.end(), kFinishWeight);
  phase_ = texts_.empty() ? std::string{} : texts_.front();
}

void ProgressTracker::on_line(std::string_view line) {
  if (line.starts_with(kStepMarker)) {
    int number = 0;
    const auto digits = line.substr(kStepMarker.size());
    std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (number >= 1 && number <= static_cast<int>(texts_.size())) enter_step(number - 1);
    return;
  }
  if (step_ == 0) on_base_line(line);
  on_apt_line(line);
  report(line);
}

void ProgressTracker::finishing(std::string phase) {
  step_ = static_cast<int>(texts_.size()) - 1;
  fraction_ = 1;
  phase_ = std::move(phase);
  report({});
}

void ProgressTracker::done() {
  percent_ = 100;
  report({});
}

void ProgressTracker::enter_step(int index) {
  step_ = index;
  fraction_ = 0;
  apt_ = {};
  phase_ = texts_[static_cast<std::size_t>(index)];
  report({});
}

void ProgressTracker::on_base_line(std::string_view line) {
  if (!line.starts_with("I: ")) return;
  for (const auto& phase : kBasePhases) {
    if (line.find(phase.marker) == std::string_view::npos) continue;
    fraction_ = std::max(fraction_, phase.fraction);
    phase_ = fmt::format("{}: {}", texts_.front(), phase.marker);
  }
}

void ProgressTracker::on_apt_line(std::string_view line) {
  int upgraded = 0, installed = 0;
  const std::string text(line);
  if (std::sscanf(text.c_str(), "%d upgraded, %d newly installed", &upgraded, &installed) == 2) {
    apt_.total = upgraded + installed;
  } else if (line.starts_with("Get:")) {
    ++apt_.fetched;
  } else if (line.starts_with("Unpacking ")) {
    ++apt_.unpacked;
  } else if (line.starts_with("Setting up ")) {
    ++apt_.configured;
  } else {
    return;
  }
  if (apt_.total <= 0 || step_ == 0) return;
  const auto share = [&](int count) { return std::min(1.0, static_cast<double>(count) / apt_.total); };
  const double done = 0.3 * share(apt_.fetched) + 0.35 * share(apt_.unpacked) + 0.35 * share(apt_.configured);
  fraction_ = std::max(fraction_, std::min(0.99, 0.02 + 0.98 * done));
}

void ProgressTracker::report(std::string_view log_line) {
  double completed = 0;
  for (int i = 0; i < step_ && i < static_cast<int>(weights_.size()); ++i)
    completed += weights_[static_cast<std::size_t>(i)];
  if (step_ < static_cast<int>(weights_.size()))
    completed += weights_[static_cast<std::size_t>(step_)] * fraction_;
  if (total_weight_ > 0) percent_ = std::max(percent_, std::min(100.0, 100.0 * completed / total_weight_));
  if (!callback_) return;
  callback_(
      BuildProgress{step_ + 1, static_cast<int>(texts_.size()), phase_, percent_, std::string(log_line)});
}

}  // namespace cellblock::templates
