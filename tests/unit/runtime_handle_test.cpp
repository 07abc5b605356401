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
