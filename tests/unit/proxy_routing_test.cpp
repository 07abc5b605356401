// Which sandbox and port a request is for (headers, Host names, signed file URLs), and which agent routes the
// proxy must never forward.

#include <gtest/gtest.h>

#include "common/agent_protocol.h"
#include "proxy/sandbox_proxy.h"

namespace cellblock::proxy {
namespace {

http::Request request_with(std::vector<std::pair<std::string, std::string>> headers,
                           std::string path = "/health") {
  http::Request request;
  request.method = "GET";
  request.path = std::move(path);
  for (auto& [name, value] : headers) request.headers.add(name, value);
  return request;
}

TEST(ProxyRouting, TheSdksHeadersNameSandboxAndPort) {
  auto target = target_of(request_with({{"E2b-Sandbox-Id", "abc123"}, {"E2b-Sandbox-Port", "49999"}}));
  ASSERT_TRUE(target);
  EXPECT_EQ(target->sandbox_id, "abc123");
  EXPECT_EQ(target->port, 49999);
  auto envd = target_of(request_with({{"E2b-Sandbox-Id", "abc123"}}));
  ASSERT_TRUE(envd);
  EXPECT_EQ(envd->port, agent_protocol::kEnvdPort) << "no port header means envd";
  auto bad = target_of(request_with({{"E2b-Sandbox-Id", "abc123"}, {"E2b-Sandbox-Port", "seventy"}}));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->port, 0) << "a bad port is answered with 400 by serve()";
}

TEST(ProxyRouting, HostNamesCarryPortAndSandbox) {
  auto target = target_from_host("8000-abc123.localhost:3000");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->sandbox_id, "abc123");
  EXPECT_EQ(target->port, 8000);
  EXPECT_TRUE(target_from_host("49983-abc123.sandbox.example"));
  for (std::string_view host :
       {"localhost:3000", "127.0.0.1:3000", "8000-ABC.localhost", "x-abc123.localhost", "0-abc123.localhost",
        "70000-abc123.localhost", "8000-.localhost", "[::1]:3000", "8000-abc123", ""}) {
    EXPECT_FALSE(target_from_host(host)) << host;
  }
  EXPECT_FALSE(target_of(request_with({{"Host", "127.0.0.1:3000"}}))) << "the control plane's own host";
}

TEST(ProxyRouting, ServerOnlyRoutesAreNeverForwarded) {
  using agent_protocol::server_only_route;
  EXPECT_TRUE(server_only_route(agent_protocol::kEnvdPort, "/init"));
  EXPECT_TRUE(server_only_route(agent_protocol::kEnvdPort, "/init/anything"));
  EXPECT_FALSE(server_only_route(agent_protocol::kEnvdPort, "/initial"));
  EXPECT_FALSE(server_only_route(agent_protocol::kEnvdPort, "/files"));
  EXPECT_FALSE(server_only_route(agent_protocol::kInterpreterPort, "/init"))
      << "the interpreter has no /init";
  EXPECT_FALSE(server_only_route(8000, "/init")) << "a user's own server may serve /init";
}

TEST(ProxyRouting, SignedFileRequests) {
  auto signed_request = request_with({}, "/files");
  signed_request.query = {{"path", "a.txt"}, {"signature", "v1_abc"}};
  EXPECT_TRUE(SandboxProxy::signed_file_request(signed_request));
  auto unsigned_request = request_with({}, "/files");
  unsigned_request.query = {{"path", "a.txt"}};
  EXPECT_FALSE(SandboxProxy::signed_file_request(unsigned_request));
  auto elsewhere = request_with({}, "/health");
  elsewhere.query = {{"signature", "v1_abc"}};
  EXPECT_FALSE(SandboxProxy::signed_file_request(elsewhere));
}

}  // namespace
}  // namespace cellblock::proxy
