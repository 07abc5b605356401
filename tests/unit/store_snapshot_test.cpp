// Snapshot and layer records: builds per (template, tag), listing one entry per template newest first with
// filters and pages, and which saved layers nothing uses any more.

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/layer_store.h"
#include "store/migrations.h"
#include "store/sandbox_store.h"
#include "store/snapshot_store.h"

namespace cellblock::store {
namespace {

namespace fs = std::filesystem;

class SnapshotStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "store-snapshots-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto db = open_state_database((dir_ / "state.db").string());
    ASSERT_TRUE(db) << db.error().message;
    db_.emplace(std::move(*db));
    snapshots_.emplace(*db_);
    layers_.emplace(*db_, [] { return 1; });
    sandboxes_.emplace(*db_);
  }
  void TearDown() override {
    sandboxes_.reset();
    layers_.reset();
    snapshots_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  static SnapshotRecord build(std::string template_id, std::string tag, std::string alias, std::int64_t at,
                              std::vector<std::string> layers, std::string sandbox = "sbx1") {
    SnapshotRecord r;
    r.template_id = std::move(template_id);
    r.tag = std::move(tag);
    r.alias = std::move(alias);
    r.sandbox_id = std::move(sandbox);
    r.base_template = "code-interpreter";
    r.layers = std::move(layers);
    r.size_bytes = 100;
    r.created_at = at;
    return r;
  }
  static std::vector<std::string> ids(const SnapshotPage& page) {
    std::vector<std::string> out;
    for (const auto& r : page.records) out.push_back(r.template_id + ":" + r.tag);
    return out;
  }

  fs::path dir_;
  std::optional<Database> db_;
  std::optional<SnapshotStore> snapshots_;
  std::optional<LayerStore> layers_;
  std::optional<SandboxStore> sandboxes_;
};

TEST_F(SnapshotStoreTest, BuildsAreFoundByAliasOrIdAndTag) {
  ASSERT_TRUE(snapshots_->put(build("t1", "default", "snap", 10, {"l1"})));
  ASSERT_TRUE(snapshots_->put(build("t1", "v2", "snap", 20, {"l2", "l1"})));
  EXPECT_EQ(snapshots_->get("snap", "v2")->layers, (std::vector<std::string>{"l2", "l1"}));
  EXPECT_EQ(snapshots_->get("t1", "default")->layers, std::vector<std::string>{"l1"});
  EXPECT_EQ(snapshots_->get("snap", "v3").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(**snapshots_->template_of_alias("snap"), "t1");
  EXPECT_FALSE(*snapshots_->template_of_alias("other"));
  ASSERT_TRUE(snapshots_->put(build("t1", "default", "snap", 30, {"l3"})));
  EXPECT_EQ(snapshots_->get("snap", "default")->layers, std::vector<std::string>{"l3"})
      << "a tag is replaced";
}

TEST_F(SnapshotStoreTest, ListsOneEntryPerTemplateNewestTemplateFirstWithFiltersAndPages) {
  ASSERT_TRUE(snapshots_->put(build("t1", "default", "snap", 10, {"l1"}, "a")));
  ASSERT_TRUE(snapshots_->put(build("t1", "v2", "snap", 40, {"l2"}, "b")));
  ASSERT_TRUE(snapshots_->put(build("t2", "default", "", 20, {"l3"}, "a")));
  ASSERT_TRUE(snapshots_->put(build("t3", "default", "", 30, {"l4"}, "b")));
  SnapshotQuery all;
  EXPECT_EQ(ids(*snapshots_->list(all)), (std::vector<std::string>{"t3:default", "t2:default", "t1:v2"}))
      << "templates by creation, each with its newest build";
  SnapshotQuery by_sandbox;
  by_sandbox.sandbox_id = "a";
  EXPECT_EQ(ids(*snapshots_->list(by_sandbox)), (std::vector<std::string>{"t2:default", "t1:default"}));
  SnapshotQuery by_name;
  by_name.name = "snap";
  by_name.tag = "default";
  EXPECT_EQ(ids(*snapshots_->list(by_name)), std::vector<std::string>{"t1:default"});
  by_name.name = "nothing";
  EXPECT_TRUE(snapshots_->list(by_name)->records.empty());

  SnapshotQuery paged;
  paged.limit = 2;
  auto first = snapshots_->list(paged);
  ASSERT_TRUE(first);
  EXPECT_EQ(ids(*first), (std::vector<std::string>{"t3:default", "t2:default"}));
  ASSERT_FALSE(first->next_cursor.empty());
  paged.cursor = first->next_cursor;
  auto second = snapshots_->list(paged);
  EXPECT_EQ(ids(*second), std::vector<std::string>{"t1:v2"});
  EXPECT_TRUE(second->next_cursor.empty()) << "no token on the last page";
  paged.cursor = "garbage";
  EXPECT_EQ(snapshots_->list(paged).error().code, ErrorCode::kInvalidArgument);
  paged.cursor.clear();
  paged.limit = 0;
  EXPECT_EQ(snapshots_->list(paged).error().code, ErrorCode::kInvalidArgument);

  EXPECT_TRUE(*snapshots_->remove_template("t1"));
  EXPECT_FALSE(*snapshots_->remove_template("t1"));
  EXPECT_EQ(snapshots_->get("snap", "v2").error().code, ErrorCode::kNotFound);
}

TEST_F(SnapshotStoreTest, ALayerIsUnusedOnceNoAliveSandboxAndNoSnapshotListsIt) {
  for (const char* id : {"l1", "l2", "l3", "l4"}) ASSERT_TRUE(layers_->add(id, 1000));
  EXPECT_EQ(*layers_->total_bytes(), 4000);
  ASSERT_TRUE(snapshots_->put(build("t1", "default", "", 10, {"l1"})));
  SandboxRecord alive;
  alive.id = "alive";
  alive.template_id = "t1";
  alive.client_id = "cellblock";
  alive.envd_access_token = "x";
  alive.layers = {"l2", "l1"};
  ASSERT_TRUE(sandboxes_->insert(alive));
  SandboxRecord dead = alive;
  dead.id = "dead";
  dead.layers = {"l3"};
  ASSERT_TRUE(sandboxes_->insert(dead));
  ASSERT_TRUE(sandboxes_->mark_killed("dead", "test"));
  EXPECT_EQ(*layers_->unused(), (std::vector<std::string>{"l3", "l4"}));
  ASSERT_TRUE(sandboxes_->record_disk_pause("alive", {"l5", "l2", "l1"}, 5));
  EXPECT_EQ(sandboxes_->get("alive")->layers, (std::vector<std::string>{"l5", "l2", "l1"}));
  EXPECT_EQ(sandboxes_->get("alive")->state, SandboxState::kPaused);
  ASSERT_TRUE(layers_->remove("l3"));
  EXPECT_EQ(*layers_->all(), (std::vector<std::string>{"l1", "l2", "l4"}));
}

}  // namespace
}  // namespace cellblock::store
