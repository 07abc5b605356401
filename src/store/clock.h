#pragma once
// The store stamps rows with wall-clock time; tests inject their own clock to check time-based rules
// (last_used_at throttling, killed_at).

#include <cstdint>
#include <functional>

namespace cellblock::store {

// Returns the current time as unix nanoseconds.
using Clock = std::function<std::int64_t()>;

}  // namespace cellblock::store
