#include "runtime/handle_json.h"

#include <gtest/gtest.h>

namespace cellblock::runtime {
namespace {

TEST(RuntimeHandle, JsonRoundTrip) {
  SandboxHandle handle;
  handle.id = "abc123";
  handle.pid = 4242;
  handle.pid_start_time = 9876543210ULL;
  handle.sandbox_dir = "/var/lib/cellblock/sandboxes/abc123";
  handle.socket_path = handle.sandbox_dir + "/run/agent.sock";
  handle.cgroups = {"/sys/fs/cgroup/memory/cellblock/abc123", "/sys/fs/cgroup/pids/cellblock/abc123"};
  handle.disk_fd = 5;
  auto parsed = handle_from_json(to_json(handle));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->id, handle.id);
  EXPECT_EQ(parsed->pid, handle.pid);
  EXPECT_EQ(parsed->pid_start_time, handle.pid_start_time);
  EXPECT_EQ(parsed->sandbox_dir, handle.sandbox_dir);
  EXPECT_EQ(parsed->socket_path, handle.socket_path);
  EXPECT_EQ(parsed->cgroups, handle.cgroups);
  EXPECT_EQ(parsed->disk_fd, handle.disk_fd);

  handle.disk_fd = -1;
  parsed = handle_from_json(to_json(handle));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->disk_fd, -1);
}

TEST(RuntimeHandle, HandlesWithoutADiskDescriptorStillParse) {
  // Recorded by a server from before PID 1 kept the writable layer's descriptor.
  auto parsed =
      handle_from_json(R"({"id":"a","pid":5,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y",
                                      "cgroups":["/sys/fs/cgroup/pids/cellblock/a"]})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pid, 5);
  EXPECT_EQ(parsed->disk_fd, -1);
}

TEST(RuntimeHandle, RejectsABadDiskDescriptor) {
  for (const char* disk_fd : {"-2", "\"3\"", "2147483648", "1.5"}) {
    std::string text =
        std::string(R"({"id":"a","pid":5,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y",
                                        "cgroups":[],"disk_fd":)") +
        disk_fd + "}";
    auto parsed = handle_from_json(text);
    ASSERT_FALSE(parsed) << disk_fd;
    EXPECT_NE(parsed.error().message.find("\"disk_fd\""), std::string::npos) << parsed.error().message;
  }
}

TEST(RuntimeHandle, NetworkLinkRoundTrips) {
  SandboxHandle handle;
  handle.id = "abc123";
  handle.pid = 4242;
  handle.sandbox_dir = "/x";
  handle.socket_path = "/x/run/agent.sock";
  handle.network = NetworkLinkHandle{"cbv-17", 0x6458fa10, 0x6458fa11};  // 100.88.250.16/31
  std::string text = to_json(handle);
  EXPECT_NE(text.find(R"("host_address":"100.88.250.16")"), std::string::npos) << text;
  auto parsed = handle_from_json(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(parsed->network);
  EXPECT_EQ(parsed->network->host_interface, "cbv-17");
  EXPECT_EQ(parsed->network->host_address, 0x6458fa10u);
  EXPECT_EQ(parsed->network->sandbox_address, 0x6458fa11u);

  handle.network.reset();
  parsed = handle_from_json(to_json(handle));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_FALSE(parsed->network);
}

TEST(RuntimeHandle, HandlesWithoutANetworkLinkParseAsNoLink) {
  // Recorded by a server from before sandboxes had links, or for a sandbox without one.
  for (const char* network : {"", R"(,"network":null)"}) {
    std::string text =
        std::string(R"({"id":"a","pid":5,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y",
                                        "cgroups":[],"disk_fd":4)") +
        network + "}";
    auto parsed = handle_from_json(text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_FALSE(parsed->network) << text;
  }
}

TEST(RuntimeHandle, RejectsABadNetworkLink) {
  for (const char* network :
       {R"("cbv-1")", R"({"host_address":"100.88.0.0","sandbox_address":"100.88.0.1"})",
        R"({"host_interface":"cbv-1","host_address":"100.88.0","sandbox_address":"100.88.0.1"})",
        R"({"host_interface":"cbv-1","host_address":"100.88.0.0","sandbox_address":1684537345})"}) {
    std::string text =
        std::string(R"({"id":"a","pid":5,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y",
                                        "cgroups":[],"network":)") +
        network + "}";
    auto parsed = handle_from_json(text);
    ASSERT_FALSE(parsed) << network;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(RuntimeHandle, RejectsMalformedJson) {
  EXPECT_FALSE(handle_from_json("not json"));
  EXPECT_FALSE(handle_from_json("[]"));
  EXPECT_FALSE(handle_from_json(R"({"id":"a","pid":0,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y",
                                    "cgroups":[]})"));
  EXPECT_FALSE(
      handle_from_json(R"({"id":"a","pid":-5,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y",
                                    "cgroups":[]})"));
  EXPECT_FALSE(
      handle_from_json(R"({"id":"a","pid":5,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y"})"));
  auto missing = handle_from_json(R"({"pid":5,"pid_start_time":1,"sandbox_dir":"/x","socket_path":"/y",
                                       "cgroups":[]})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message.find("\"id\""), std::string::npos);
}

}  // namespace
}  // namespace cellblock::runtime
