// Address pairs of the sandboxes' links: lowest free first, names and addresses derived from the index,
// adoption after a restart, exhaustion.

#include <gtest/gtest.h>

#include "net/address_pool.h"

namespace cellblock::net {
namespace {

TEST(AddressPoolTest, LeasesLowestFreePairWithItsInterface) {
  auto pool = AddressPool::create({0x64580000, 29}, "cbx-");
  ASSERT_TRUE(pool) << pool.error().message;
  EXPECT_EQ(pool->capacity(), 4u);
  auto a = pool->acquire();
  auto b = pool->acquire();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->interface, "cbx-0");
  EXPECT_EQ(a->host_address, 0x64580000u);
  EXPECT_EQ(a->sandbox_address, 0x64580001u);
  EXPECT_EQ(b->interface, "cbx-1");
  EXPECT_EQ(b->host_address, 0x64580002u);
  pool->release(a->interface);
  auto c = pool->acquire();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->interface, "cbx-0");
}

TEST(AddressPoolTest, ExhaustionIsAClearError) {
  auto pool = AddressPool::create({0x64580000, 30}, "cbx-");
  ASSERT_TRUE(pool);
  ASSERT_TRUE(pool->acquire());
  ASSERT_TRUE(pool->acquire());
  auto none = pool->acquire();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(none.error().message.find("100.88.0.0/30"), std::string::npos) << none.error().message;
}

TEST(AddressPoolTest, AdoptsOnlyItsOwnCanonicalNamesOnce) {
  auto pool = AddressPool::create({0x64580000, 24}, "cbx-");
  ASSERT_TRUE(pool);
  auto adopted = pool->adopt("cbx-17");
  ASSERT_TRUE(adopted) << adopted.error().message;
  EXPECT_EQ(adopted->sandbox_address, 0x64580023u);
  EXPECT_EQ(pool->adopt("cbx-17").error().code, ErrorCode::kAlreadyExists);
  for (const char* foreign : {"cby-1", "cbx-", "cbx-017", "cbx-128", "cbx-1a", "eth0"}) {
    EXPECT_EQ(pool->adopt(foreign).error().code, ErrorCode::kInvalidArgument) << foreign;
  }
  pool->release("cbx-17");
  pool->release("eth0");  // not ours: ignored
  EXPECT_TRUE(pool->adopt("cbx-17"));
}

TEST(AddressPoolTest, RefusesSubnetsWithoutRoomOrNamesTooLong) {
  EXPECT_FALSE(AddressPool::create({0x64580000, 31}, "cbx-"));
  EXPECT_FALSE(AddressPool::create({0x64000000, 7}, "cbx-"));
  EXPECT_FALSE(AddressPool::create({0x64000000, 8}, "cbxxxxxxxxxx-"));  // 13 + 7 digits > 15
}

}  // namespace
}  // namespace cellblock::net
