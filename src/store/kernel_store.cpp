#include "store/kernel_store.h"

#include <utility>

#include <fmt/format.h>

namespace cellblock::store {
namespace {

ChatKernel kernel_from(const Statement& row) {
  return ChatKernel{row.column_text(0), row.column_text(1), row.column_text(2), row.column_int64(3)};
}

// Binds text parameters 1..n in order.
Status bind_texts(Statement& stmt, std::initializer_list<std::string_view> values) {
  int index = 1;
  for (std::string_view value : values) {
    if (auto bound = stmt.bind_text(index++, value); !bound) return bound;
  }
  return Status{};
}

}  // namespace

KernelStore::KernelStore(Database& db, Clock clock) : db_(&db), clock_(std::move(clock)) {}

Result<std::optional<ChatKernel>> KernelStore::find(std::string_view chat_id) {
  auto stmt =
      db_->prepare("SELECT chat_id, sandbox_id, context_id, used_at FROM chat_kernels WHERE chat_id = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = bind_texts(*stmt, {chat_id}); !bound) return tl::unexpected(bound.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<ChatKernel>();
  return kernel_from(*stmt);
}

Status KernelStore::put(std::string_view chat_id, std::string_view sandbox_id, std::string_view context_id) {
  auto stmt = db_->prepare(
      "INSERT INTO chat_kernels (chat_id, sandbox_id, context_id, used_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (chat_id) DO UPDATE SET sandbox_id = ?2, context_id = ?3, used_at = ?4");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = bind_texts(*stmt, {chat_id, sandbox_id, context_id}); !bound) return bound;
  if (auto bound = stmt->bind_int64(4, clock_()); !bound) return bound;
  auto ran = stmt->run();
  // The only foreign key is the chat's.
  if (!ran && ran.error().code == ErrorCode::kInvalidArgument) {
    return fail(ErrorCode::kNotFound, fmt::format("chat \"{}\" not found", chat_id));
  }
  return ran;
}

Status KernelStore::touch(std::string_view chat_id) {
  auto stmt = db_->prepare("UPDATE chat_kernels SET used_at = ?2 WHERE chat_id = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = bind_texts(*stmt, {chat_id}); !bound) return bound;
  if (auto bound = stmt->bind_int64(2, clock_()); !bound) return bound;
  return stmt->run();
}

Status KernelStore::forget(std::string_view chat_id) {
  auto stmt = db_->prepare("DELETE FROM chat_kernels WHERE chat_id = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = bind_texts(*stmt, {chat_id}); !bound) return bound;
  return stmt->run();
}

Result<std::vector<ChatKernel>> KernelStore::in_sandbox(std::string_view sandbox_id) {
  auto stmt = db_->prepare(
      "SELECT chat_id, sandbox_id, context_id, used_at FROM chat_kernels WHERE sandbox_id = ?1 "
      "ORDER BY used_at DESC, chat_id");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = bind_texts(*stmt, {sandbox_id}); !bound) return tl::unexpected(bound.error());
  std::vector<ChatKernel> kernels;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    kernels.push_back(kernel_from(*stmt));
  }
  return kernels;
}

}  // namespace cellblock::store
