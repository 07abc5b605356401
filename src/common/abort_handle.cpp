#include "common/abort_handle.h"

namespace cellblock {

AbortHandle::Registration::Registration(Registration&& other) noexcept
    : owner_(std::move(other.owner_)), id_(other.id_) {
  other.owner_.reset();
}

AbortHandle::Registration& AbortHandle::Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->cuts_.erase(id_);
    owner_ = std::move(other.owner_);
    id_ = other.id_;
    other.owner_.reset();
  }
  return *this;
}

AbortHandle::Registration::~Registration() {
  if (owner_) owner_->cuts_.erase(id_);
}

void AbortHandle::abort() {
  aborted_ = true;
  // A cut may drop registrations while we iterate: work on a detached copy.
  auto cuts = std::move(cuts_);
  cuts_.clear();
  for (auto& [id, cut] : cuts) cut();
}

AbortHandle::Registration AbortHandle::on_abort(std::function<void()> cut) {
  if (aborted_) {
    cut();
    return {};
  }
  std::uint64_t id = next_id_++;
  cuts_.emplace(id, std::move(cut));
  return Registration(shared_from_this(), id);
}

}  // namespace cellblock
