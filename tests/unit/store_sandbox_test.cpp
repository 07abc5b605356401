// Sandbox records against a real SQLite file: CRUD, kill, recovery listing and the paged, filtered listing of
// GET /v2/sandboxes.

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/list_cursor.h"
#include "store/migrations.h"
#include "store/sandbox_store.h"

namespace cellblock::store {
namespace {

namespace fs = std::filesystem;

class SandboxStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "store-sandboxes-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto db = open_state_database((dir_ / "state.db").string());
    ASSERT_TRUE(db) << db.error().message;
    db_.emplace(std::move(*db));
    store_.emplace(*db_, [this] { return now_; });
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  static SandboxRecord record(std::string id, std::int64_t started_at,
                              std::map<std::string, std::string> metadata = {}) {
    SandboxRecord r;
    r.id = std::move(id);
    r.template_id = "tpl-base";
    r.client_id = "cellblock";
    r.metadata = std::move(metadata);
    r.started_at = started_at;
    r.end_at = started_at + 300;
    r.envd_access_token = "envd-" + r.id;
    r.cpu_count = 2;
    r.memory_mb = 512;
    r.disk_size_mb = 1024;
    return r;
  }

  void insert(const SandboxRecord& r) { ASSERT_TRUE(store_->insert(r)) << r.id; }

  // Ids of one page.
  std::vector<std::string> ids(const ListQuery& query, std::string* next = nullptr) {
    auto page = store_->list(query);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> out;
    if (!page) return out;
    for (const auto& r : page->records) out.push_back(r.id);
    if (next != nullptr) *next = page->next_cursor;
    return out;
  }

  // Every page, following next_cursor; also counts the pages.
  std::vector<std::string> all_pages(ListQuery query, int* pages) {
    std::vector<std::string> out;
    *pages = 0;
    while (true) {
      std::string next;
      auto page = ids(query, &next);
      ++*pages;
      out.insert(out.end(), page.begin(), page.end());
      if (next.empty() || *pages > 50) return out;
      query.cursor = next;
    }
  }

  using Ids = std::vector<std::string>;
  fs::path dir_;
  std::int64_t now_ = 5'000;
  std::optional<Database> db_;
  std::optional<SandboxStore> store_;
};

TEST_F(SandboxStoreTest, InsertAndGetRoundTripEveryField) {
  SandboxRecord r = record("sbxaaaaaaaaaaaaaaaaa", 1'700'000'000'123'456'789, {{"a b", "c&d"}, {"x", "1=2"}});
  r.alias = "code-interpreter-v1";
  r.env_vars = {{"PATH_EXTRA", "/opt/bin"}, {"QUOTE", "say \"hi\"\n"}};
  r.state = SandboxState::kPaused;
  r.handle = R"({"pid":42,"pid_start_time":777})";
  r.cpu_count = 4;
  r.memory_mb = 2048;
  r.disk_size_mb = 4096;
  r.network = R"({"allowOut":["1.1.1.1"],"denyOut":["0.0.0.0/0"]})";
  insert(r);

  auto got = store_->get(r.id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->id, r.id);
  EXPECT_EQ(got->template_id, "tpl-base");
  EXPECT_EQ(got->alias, "code-interpreter-v1");
  EXPECT_EQ(got->client_id, "cellblock");
  EXPECT_EQ(got->metadata, r.metadata);
  EXPECT_EQ(got->env_vars, r.env_vars);
  EXPECT_EQ(got->started_at, 1'700'000'000'123'456'789);
  EXPECT_EQ(got->end_at, r.end_at);
  EXPECT_EQ(got->state, SandboxState::kPaused);
  EXPECT_EQ(got->envd_access_token, "envd-sbxaaaaaaaaaaaaaaaaa");
  EXPECT_EQ(got->cpu_count, 4);
  EXPECT_EQ(got->memory_mb, 2048);
  EXPECT_EQ(got->disk_size_mb, 4096);
  EXPECT_EQ(got->handle, r.handle);
  EXPECT_EQ(got->network, r.network);
  EXPECT_FALSE(got->killed_at);
  EXPECT_EQ(got->kill_reason, "");

  SandboxRecord bare = record("sbxbbbbbbbbbbbbbbbbb", 10);
  insert(bare);
  auto plain = store_->get(bare.id);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->alias, "");
  EXPECT_TRUE(plain->metadata.empty());
  EXPECT_EQ(plain->handle, "");
  EXPECT_EQ(plain->network, "");
  EXPECT_EQ(plain->state, SandboxState::kRunning);
}

TEST_F(SandboxStoreTest, DuplicateAndUnknownIds) {
  insert(record("dup", 1));
  auto again = store_->insert(record("dup", 2));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  auto missing = store_->get("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->update_end_at("nope", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->update_handle("nope", "{}").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->update_network("nope", "{}").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->update_state("nope", SandboxState::kPaused).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->mark_killed("nope", "x").error().code, ErrorCode::kNotFound);
}

TEST_F(SandboxStoreTest, UpdatesChangeOnlyTheirColumn) {
  insert(record("one", 100));
  insert(record("two", 200));
  ASSERT_TRUE(store_->update_end_at("one", 999));
  ASSERT_TRUE(store_->update_handle("one", R"({"pid":7})"));
  ASSERT_TRUE(store_->update_network("one", R"({"denyOut":["8.8.8.8"]})"));
  ASSERT_TRUE(store_->update_state("one", SandboxState::kPaused));
  auto one = store_->get("one");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->end_at, 999);
  EXPECT_EQ(one->handle, R"({"pid":7})");
  EXPECT_EQ(one->network, R"({"denyOut":["8.8.8.8"]})");
  EXPECT_EQ(one->state, SandboxState::kPaused);
  EXPECT_EQ(one->started_at, 100);
  auto two = store_->get("two");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->end_at, 500);
  EXPECT_EQ(two->handle, "");
  EXPECT_EQ(two->network, "");
  EXPECT_EQ(two->state, SandboxState::kRunning);

  ASSERT_TRUE(store_->update_state("one", SandboxState::kRunning));
  EXPECT_EQ(store_->get("one")->state, SandboxState::kRunning);
  EXPECT_EQ(store_->update_state("one", SandboxState::kKilled).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SandboxStoreTest, MarkKilledIsFinalAndIdempotent) {
  insert(record("victim", 100));
  now_ = 7'000;
  ASSERT_TRUE(store_->mark_killed("victim", "timeout"));
  auto killed = store_->get("victim");
  ASSERT_TRUE(killed) << "killed sandboxes stay readable";
  EXPECT_EQ(killed->state, SandboxState::kKilled);
  EXPECT_EQ(killed->killed_at, 7'000);
  EXPECT_EQ(killed->kill_reason, "timeout");

  now_ = 8'000;
  ASSERT_TRUE(store_->mark_killed("victim", "api"));
  killed = store_->get("victim");
  EXPECT_EQ(killed->killed_at, 7'000);
  EXPECT_EQ(killed->kill_reason, "timeout");

  EXPECT_EQ(store_->update_end_at("victim", 1).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->update_handle("victim", "{}").error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->update_state("victim", SandboxState::kRunning).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->get("victim")->state, SandboxState::kKilled);
}

TEST_F(SandboxStoreTest, ListAliveSkipsKilledOldestFirst) {
  insert(record("late", 300));
  insert(record("early", 100));
  SandboxRecord paused = record("paused", 200);
  paused.state = SandboxState::kPaused;
  insert(paused);
  insert(record("dead", 150));
  ASSERT_TRUE(store_->mark_killed("dead", "api"));
  auto alive = store_->list_alive();
  ASSERT_TRUE(alive);
  Ids got;
  for (const auto& r : *alive) got.push_back(r.id);
  EXPECT_EQ(got, (Ids{"early", "paused", "late"}));
}

TEST_F(SandboxStoreTest, ListFiltersByMetadataWithAndSemantics) {
  insert(record("both", 1, {{"team", "a"}, {"env", "prod"}}));
  insert(record("team-only", 2, {{"team", "a"}}));
  insert(record("other-team", 3, {{"team", "b"}, {"env", "prod"}}));
  insert(record("no-metadata", 4));
  insert(record("odd-key", 5, {{"a.b", "x"}, {"q\"uote", "y"}, {"$[0]", "z"}}));

  ListQuery query;
  query.metadata = {{"team", "a"}};
  EXPECT_EQ(ids(query), (Ids{"team-only", "both"}));
  query.metadata = {{"team", "a"}, {"env", "prod"}};
  EXPECT_EQ(ids(query), (Ids{"both"}));
  query.metadata = {{"env", "prod"}};
  EXPECT_EQ(ids(query), (Ids{"other-team", "both"}));
  query.metadata = {{"team", "A"}};
  EXPECT_EQ(ids(query), Ids{}) << "values match exactly";
  query.metadata = {{"team", ""}};
  EXPECT_EQ(ids(query), Ids{}) << "a sandbox without the key does not match an empty value";
  query.metadata = {{"a.b", "x"}, {"q\"uote", "y"}, {"$[0]", "z"}};
  EXPECT_EQ(ids(query), (Ids{"odd-key"})) << "keys are not JSON paths";
  query.metadata = {};
  EXPECT_EQ(ids(query).size(), 5u) << "no filter matches everything, with or without metadata";
}

TEST_F(SandboxStoreTest, ListFiltersByStateStartTimeAndTemplate) {
  insert(record("r1", 100));
  SandboxRecord p1 = record("p1", 200);
  p1.state = SandboxState::kPaused;
  insert(p1);
  SandboxRecord aliased = record("r2", 300);
  aliased.template_id = "tpl-ci";
  aliased.alias = "code-interpreter-v1";
  insert(aliased);
  insert(record("k1", 400));
  ASSERT_TRUE(store_->mark_killed("k1", "api"));

  ListQuery query;
  EXPECT_EQ(ids(query), (Ids{"r2", "p1", "r1"})) << "default: running and paused, never killed";
  query.states = {};
  EXPECT_EQ(ids(query), (Ids{"r2", "p1", "r1"})) << "an empty state set means the default";
  query.states = {SandboxState::kRunning};
  EXPECT_EQ(ids(query), (Ids{"r2", "r1"}));
  query.states = {SandboxState::kPaused};
  EXPECT_EQ(ids(query), (Ids{"p1"}));
  query.states = {SandboxState::kKilled};
  EXPECT_EQ(ids(query), (Ids{"k1"}));

  query = {};
  query.started_after = 200;
  EXPECT_EQ(ids(query), (Ids{"r2", "p1"})) << "started_after is inclusive";
  query.started_after = 201;
  EXPECT_EQ(ids(query), (Ids{"r2"}));

  query = {};
  query.template_id = "tpl-ci";
  EXPECT_EQ(ids(query), (Ids{"r2"}));
  query.template_id = "code-interpreter-v1";
  EXPECT_EQ(ids(query), (Ids{"r2"}));
  query.template_id = "tpl-base";
  EXPECT_EQ(ids(query), (Ids{"p1", "r1"}));
  query.template_id = "tpl";
  EXPECT_EQ(ids(query), Ids{}) << "exact match only";
}

TEST_F(SandboxStoreTest, OrderBreaksTiesById) {
  insert(record("b", 100));
  insert(record("c", 100));
  insert(record("a", 100));
  insert(record("z", 50));
  insert(record("m", 150));
  ListQuery query;
  EXPECT_EQ(ids(query), (Ids{"m", "c", "b", "a", "z"}));
  query.order = SortOrder::kAscending;
  EXPECT_EQ(ids(query), (Ids{"z", "a", "b", "c", "m"}));
}

TEST_F(SandboxStoreTest, TokenOnlyWhenMoreRowsExist) {
  insert(record("first", 100));
  insert(record("second", 200));
  ListQuery query;
  query.limit = 1;
  std::string next;
  EXPECT_EQ(ids(query, &next), (Ids{"second"}));
  ASSERT_FALSE(next.empty());
  query.cursor = next;
  EXPECT_EQ(ids(query, &next), (Ids{"first"}));
  EXPECT_TRUE(next.empty()) << "exactly two rows: the second page has no token";

  query.cursor.clear();
  query.limit = 2;
  EXPECT_EQ(ids(query, &next), (Ids{"second", "first"}));
  EXPECT_TRUE(next.empty());
}

TEST_F(SandboxStoreTest, PagingWalksThreeRowsInBothOrders) {
  insert(record("x", 100));
  insert(record("y", 100));  // tie with x
  insert(record("w", 300));
  int pages = 0;
  ListQuery query;
  query.limit = 1;
  EXPECT_EQ(all_pages(query, &pages), (Ids{"w", "y", "x"}));
  EXPECT_EQ(pages, 3);
  query.order = SortOrder::kAscending;
  EXPECT_EQ(all_pages(query, &pages), (Ids{"x", "y", "w"}));
  EXPECT_EQ(pages, 3);
  query.limit = 2;
  EXPECT_EQ(all_pages(query, &pages), (Ids{"x", "y", "w"}));
  EXPECT_EQ(pages, 2);
}

TEST_F(SandboxStoreTest, PagingStaysCorrectUnderAMetadataFilter) {
  // Interleave matching and non-matching rows: a filter applied after LIMIT would lose or repeat rows.
  for (int i = 0; i < 12; ++i) {
    std::map<std::string, std::string> metadata;
    if (i % 3 == 0) metadata = {{"pick", "yes"}};
    insert(record("s" + std::to_string(10 + i), 100 + i, metadata));
  }
  ListQuery query;
  query.metadata = {{"pick", "yes"}};
  query.limit = 1;
  int pages = 0;
  EXPECT_EQ(all_pages(query, &pages), (Ids{"s19", "s16", "s13", "s10"}));
  EXPECT_EQ(pages, 4);
  query.limit = 3;
  query.order = SortOrder::kAscending;
  EXPECT_EQ(all_pages(query, &pages), (Ids{"s10", "s13", "s16", "s19"}));
  EXPECT_EQ(pages, 2);
}

TEST_F(SandboxStoreTest, KilledRowsDropOutBetweenPages) {
  insert(record("a", 100));
  insert(record("b", 200));
  insert(record("c", 300));
  ListQuery query;
  query.limit = 1;
  std::string next;
  EXPECT_EQ(ids(query, &next), (Ids{"c"}));
  ASSERT_TRUE(store_->mark_killed("b", "api"));
  query.cursor = next;
  EXPECT_EQ(ids(query, &next), (Ids{"a"}));
  EXPECT_TRUE(next.empty());
}

TEST_F(SandboxStoreTest, ACursorOfTheOtherOrderIsRefused) {
  insert(record("a", 100));
  insert(record("b", 200));
  ListQuery query;
  query.limit = 1;
  std::string desc_token;
  ids(query, &desc_token);
  ASSERT_FALSE(desc_token.empty());
  query.order = SortOrder::kAscending;
  std::string asc_token;
  query.cursor.clear();
  ids(query, &asc_token);
  ASSERT_FALSE(asc_token.empty());
  EXPECT_NE(asc_token, desc_token);

  query.cursor = desc_token;  // descending token, ascending query
  auto crossed = store_->list(query);
  ASSERT_FALSE(crossed);
  EXPECT_EQ(crossed.error().code, ErrorCode::kInvalidArgument);
  query.order = SortOrder::kDescending;
  query.cursor = asc_token;
  crossed = store_->list(query);
  ASSERT_FALSE(crossed);
  EXPECT_EQ(crossed.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SandboxStoreTest, BadLimitsAndCursorsAreInvalidArguments) {
  ListQuery query;
  for (int limit : {0, -1, 101}) {
    query.limit = limit;
    auto page = store_->list(query);
    ASSERT_FALSE(page) << limit;
    EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
  }
  query.limit = 100;
  EXPECT_TRUE(store_->list(query));
  for (const char* cursor : {"!!!", "bm90LWEtY3Vyc29y", "X19hYmM"}) {  // "not-a-cursor", "__abc"
    query.cursor = cursor;
    auto page = store_->list(query);
    ASSERT_FALSE(page) << cursor;
    EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(SandboxStoreTest, CursorEncodingRoundTrips) {
  for (const ListCursor& cursor : {ListCursor{1'700'000'000'000'000'001, "abcdefghij0123456789", false},
                                   ListCursor{0, "x", true}, ListCursor{-5, "neg", false}}) {
    std::string token = encode_list_cursor(cursor);
    EXPECT_EQ(token.find_first_of("+/="), std::string::npos) << token;
    auto back = decode_list_cursor(token);
    ASSERT_TRUE(back) << token;
    EXPECT_EQ(back->started_at, cursor.started_at);
    EXPECT_EQ(back->id, cursor.id);
    EXPECT_EQ(back->ascending, cursor.ascending);
  }
  // The documented format: base64url("<started_at>__<id>[__asc]").
  EXPECT_EQ(encode_list_cursor({12, "ab", true}), "MTJfX2FiX19hc2M");  // "12__ab__asc"
}

}  // namespace
}  // namespace cellblock::store
