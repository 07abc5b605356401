// Conversation kernels against a real SQLite file: recorded, replaced, ordered by last use per sandbox, and
// gone with their chat.

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "store/chat_store.h"
#include "store/kernel_store.h"
#include "store_test_support.h"

namespace cellblock::store {
namespace {

class KernelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = temp_.open();
    ASSERT_TRUE(db) << db.error().message;
    db_.emplace(std::move(*db));
    chats_.emplace(*db_);
    kernels_.emplace(*db_, [this] { return now_; });
    for (const char* id : {"chat-a", "chat-b", "chat-c"})
      ASSERT_TRUE(chats_->ensure_chat("local", id, id, ""));
  }

  testing::TempStateDb temp_{"kernel-store"};
  std::optional<Database> db_;
  std::optional<ChatStore> chats_;
  std::optional<KernelStore> kernels_;
  std::int64_t now_ = 1000;
};

TEST_F(KernelStoreTest, RecordsReplacesAndForgets) {
  auto none = kernels_->find("chat-a");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(kernels_->put("chat-a", "sbx1", "ctx1"));
  auto found = kernels_->find("chat-a");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->sandbox_id, "sbx1");
  EXPECT_EQ((*found)->context_id, "ctx1");
  EXPECT_EQ((*found)->used_at, 1000);

  now_ = 2000;
  ASSERT_TRUE(kernels_->put("chat-a", "sbx2", "ctx2"));  // a new sandbox: the old kernel is gone with it
  found = kernels_->find("chat-a");
  EXPECT_EQ((*found)->sandbox_id, "sbx2");
  EXPECT_EQ((*found)->context_id, "ctx2");
  EXPECT_EQ((*found)->used_at, 2000);

  ASSERT_TRUE(kernels_->forget("chat-a"));
  EXPECT_FALSE(*kernels_->find("chat-a"));
  EXPECT_TRUE(kernels_->forget("chat-a"));  // forgetting twice is fine
}

TEST_F(KernelStoreTest, ASandboxsKernelsComeMostRecentlyUsedFirst) {
  ASSERT_TRUE(kernels_->put("chat-a", "sbx1", "ctx-a"));
  now_ = 2000;
  ASSERT_TRUE(kernels_->put("chat-b", "sbx1", "ctx-b"));
  now_ = 3000;
  ASSERT_TRUE(kernels_->put("chat-c", "sbx2", "ctx-c"));
  now_ = 4000;
  ASSERT_TRUE(kernels_->touch("chat-a"));
  ASSERT_TRUE(kernels_->touch("no-such-chat"));

  auto listed = kernels_->in_sandbox("sbx1");
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].chat_id, "chat-a");
  EXPECT_EQ((*listed)[0].used_at, 4000);
  EXPECT_EQ((*listed)[1].chat_id, "chat-b");
  EXPECT_TRUE(kernels_->in_sandbox("sbx-none")->empty());
}

TEST_F(KernelStoreTest, AKernelNeedsItsChatAndGoesWithIt) {
  auto orphan = kernels_->put("never-created", "sbx1", "ctx");
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(kernels_->put("chat-b", "sbx1", "ctx-b"));
  ASSERT_TRUE(chats_->delete_chat("local", "chat-b"));
  EXPECT_FALSE(*kernels_->find("chat-b"));
}

}  // namespace
}  // namespace cellblock::store
