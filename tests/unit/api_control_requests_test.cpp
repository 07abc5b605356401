// The control plane's pure parts: the route table and the request parsers, on the spec's wire examples
// (e2b-api.md §3, e2b-lifecycle.md §11) and on garbage.

#include <gtest/gtest.h>

#include "api/control_requests.h"
#include "api/control_routes.h"

namespace cellblock::api {
namespace {

ControlRoute route_of(std::string_view method, std::string_view path) {
  auto route = match_route(method, path);
  EXPECT_TRUE(route) << method << " " << path << ": " << route.error().message;
  return route ? *route : ControlRoute{Action::kGet};
}

TEST(ControlRoutes, TheSpecsRoutes) {
  EXPECT_EQ(route_of("POST", "/v2/sandboxes").action, Action::kCreate);
  EXPECT_FALSE(route_of("POST", "/v2/sandboxes").v1);
  EXPECT_TRUE(route_of("POST", "/sandboxes").v1);
  EXPECT_EQ(route_of("GET", "/v2/sandboxes").action, Action::kList);
  auto get = route_of("GET", "/sandboxes/isbx1");
  EXPECT_EQ(get.action, Action::kGet);
  EXPECT_EQ(get.param, "isbx1");
  EXPECT_EQ(route_of("DELETE", "/sandboxes/isbx1").action, Action::kKill);
  EXPECT_EQ(route_of("POST", "/sandboxes/isbx1/timeout").action, Action::kSetTimeout);
  EXPECT_EQ(route_of("POST", "/v2/sandboxes/isbx1/connect").action, Action::kConnect);
  EXPECT_TRUE(route_of("POST", "/sandboxes/isbx1/connect").v1);
  EXPECT_EQ(route_of("POST", "/sandboxes/isbx1/resume").action, Action::kResume);
  EXPECT_EQ(route_of("POST", "/sandboxes/isbx1/pause").action, Action::kPause);
  EXPECT_EQ(route_of("GET", "/sandboxes/isbx1/metrics").action, Action::kMetrics);
  EXPECT_EQ(route_of("GET", "/templates").action, Action::kListTemplates);
  EXPECT_EQ(route_of("POST", "/sandboxes/isbx1/snapshots").action, Action::kSnapshot);
  EXPECT_EQ(route_of("GET", "/snapshots").action, Action::kListSnapshots);
  EXPECT_EQ(route_of("DELETE", "/templates/abc123%3Adefault").action, Action::kDeleteTemplate);
}

TEST(ControlRoutes, AnEncodedNameStaysOneSegmentAndIsDecoded) {
  auto alias = route_of("GET", "/templates/aliases/acme%2Fmy-tpl%3Av1");
  EXPECT_EQ(alias.action, Action::kTemplateAlias);
  EXPECT_EQ(alias.param, "acme/my-tpl:v1");
  auto deleted = route_of("DELETE", "/templates/acme%2Fsnap%3Adefault");
  EXPECT_EQ(deleted.action, Action::kDeleteTemplate);
  EXPECT_EQ(deleted.param, "acme/snap:default");
}

TEST(ControlRoutes, UnknownPathsWrongMethodsAndGarbage) {
  EXPECT_EQ(match_route("GET", "/no/such/route").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(match_route("GET", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(match_route("GET", "/").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(match_route("GET", "/sandboxes/").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(match_route("GET", "/sandboxes//pause").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(match_route("GET", "/sandboxes/a/pause/extra").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(match_route("GET", "/v2/sandboxes/a").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(match_route("PUT", "/sandboxes/a").error().code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(match_route("GET", "/sandboxes/a/pause").error().code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(match_route("GET", "/templates/aliases/%zz").error().code, ErrorCode::kInvalidArgument);
  // An id of any bytes is only a parameter: the lifecycle answers 404 for it.
  EXPECT_EQ(route_of("GET", std::string("/sandboxes/\0x", 13)).param, std::string("\0x", 2));
}

TEST(ControlRequests, CreateWithLifecycle) {
  auto command = parse_create(
      R"({"templateID":"base","timeout":3,"autoPause":true,"autoResume":{"enabled":true},"metadata":{"k":"v"},)"
      R"("envVars":{"A":"1"}})",
      false);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_EQ(command->template_id, "base");
  EXPECT_EQ(command->timeout_seconds, 3);
  EXPECT_TRUE(command->lifecycle.pause_on_timeout);
  EXPECT_TRUE(command->lifecycle.keep_memory);
  EXPECT_TRUE(command->lifecycle.auto_resume);
  EXPECT_EQ(command->metadata.at("k"), "v");
  EXPECT_EQ(command->env_vars.at("A"), "1");

  auto plain = parse_create(R"({"templateID":"base","autoResume":{"enabled":false}})", false);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->lifecycle.pause_on_timeout);
  EXPECT_FALSE(plain->lifecycle.auto_resume);
  EXPECT_FALSE(plain->timeout_seconds);
  EXPECT_EQ(parse_create(R"({"templateID":"base"})", true)->timeout_seconds, 300) << "v1 default";
}

TEST(ControlRequests, CreateRejectsWhatE2BRejects) {
  auto message = [](std::string_view body) {
    auto command = parse_create(body, false);
    EXPECT_FALSE(command) << body;
    EXPECT_EQ(command ? ErrorCode::kInternal : command.error().code, ErrorCode::kInvalidArgument);
    return command ? std::string() : command.error().message;
  };
  EXPECT_TRUE(parse_create(R"({"templateID":"base","autoPause":true,"autoPauseMemory":false})", false));
  EXPECT_EQ(message(R"({"templateID":"base","autoPauseMemory":false})"),
            "autoPauseMemory=false only applies when autoPause is true.");
  EXPECT_NE(
      message(
          R"({"templateID":"base","autoPause":true,"autoPauseMemory":false,"autoResume":{"enabled":true}})")
          .find("cannot be combined with autoResume"),
      std::string::npos);
  EXPECT_NE(message(R"({"templateID":"base","autoPause":"yes"})").find("autoPause"), std::string::npos);
  EXPECT_NE(message(R"({"templateID":"base","autoResume":true})").find("autoResume"), std::string::npos);
  EXPECT_NE(message(R"({"timeout":3})").find("templateID"), std::string::npos);
  EXPECT_NE(message(R"({"templateID":"base","surprise":1})").find("surprise"), std::string::npos);
  EXPECT_NE(message(R"({"templateID":"base","timeout":"soon"})").find("timeout"), std::string::npos);
  EXPECT_NE(message(R"({"templateID":"base","metadata":{"a":1}})").find("metadata"), std::string::npos);
  EXPECT_NE(message("{nope").find("JSON"), std::string::npos);
  message("[]");
  message("");
  message("null");
}

TEST(ControlRequests, ConnectAndPauseBodies) {
  EXPECT_FALSE(parse_connect("")->timeout_seconds);
  EXPECT_TRUE(parse_connect("{}")->keep_memory);
  EXPECT_EQ(parse_connect(R"({"timeout":60})")->timeout_seconds, 60);
  EXPECT_FALSE(parse_connect(R"({"memory":false})")->keep_memory);
  EXPECT_FALSE(parse_connect(R"({"timeout":"x"})"));
  EXPECT_FALSE(parse_connect(R"({"memory":1})"));
  EXPECT_FALSE(parse_connect(R"({"other":1})"));
  EXPECT_TRUE(parse_pause("")->keep_memory);
  EXPECT_TRUE(parse_pause("{}")->keep_memory);
  EXPECT_TRUE(parse_pause(R"({"memory":true})")->keep_memory);
  EXPECT_FALSE(parse_pause(R"({"memory":false})")->keep_memory);
  EXPECT_FALSE(parse_pause(R"({"memory":"no"})"));
  EXPECT_FALSE(parse_pause("[1]"));
  EXPECT_EQ(*parse_set_timeout(R"({"timeout":30})"), 30);
  EXPECT_FALSE(parse_set_timeout("{}"));
  EXPECT_FALSE(parse_set_timeout(""));
}

TEST(ControlRequests, ListQueries) {
  http::Request request;
  request.query = {{"state", "paused"}, {"limit", "500"}, {"order", "asc"}, {"metadata", "a=1"}};
  auto query = parse_list_query(request, false);
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(query->states, std::set<store::SandboxState>{store::SandboxState::kPaused});
  EXPECT_EQ(query->limit, 100);
  EXPECT_EQ(query->order, store::SortOrder::kAscending);
  EXPECT_EQ(query->metadata.at("a"), "1");
  for (auto bad :
       {std::pair{"state", "killed"}, std::pair{"state", "sleeping"}, std::pair{"order", "sideways"},
        std::pair{"limit", "0"}, std::pair{"limit", "x"}, std::pair{"startedAfter", "yesterday"}}) {
    http::Request garbage;
    garbage.query = {{bad.first, bad.second}};
    EXPECT_FALSE(parse_list_query(garbage, false)) << bad.first << "=" << bad.second;
  }
}

TEST(ControlRequests, SnapshotBodiesAndQueries) {
  EXPECT_FALSE(*parse_create_snapshot(""));
  EXPECT_FALSE(*parse_create_snapshot("{}"));
  auto named = parse_create_snapshot(R"({"name":"  My-Snap "})");
  ASSERT_TRUE(named && *named) << named.error().message;
  EXPECT_EQ((*named)->alias, "my-snap") << "trimmed and lower-cased";
  EXPECT_EQ((*named)->tag, "default");
  auto tagged = parse_create_snapshot(R"({"name":"cellblock/snap:v1.2"})");
  ASSERT_TRUE(tagged && *tagged);
  EXPECT_EQ((*tagged)->alias, "snap");
  EXPECT_EQ((*tagged)->tag, "v1.2");
  EXPECT_EQ(parse_create_snapshot(R"({"name":"acme/snap"})").error().message,
            "namespace 'acme' must match your team 'cellblock'");
  for (auto bad : {R"({"name":"a b"})", R"({"name":"snap:"})", R"({"name":"sn.ap"})", R"({"name":7})",
                   R"({"other":1})", "[]"}) {
    auto parsed = parse_create_snapshot(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }

  http::Request request;
  request.query = {{"sandboxID", "isbx1"}, {"name", "cellblock/snap:default"}, {"limit", "5"}};
  auto query = parse_snapshot_query(request);
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(query->sandbox_id, "isbx1");
  EXPECT_EQ(query->name, "snap");
  EXPECT_EQ(query->tag, "default");
  EXPECT_EQ(query->limit, 5);
  request.query = {{"name", "snap"}};
  EXPECT_FALSE(parse_snapshot_query(request)->tag) << "a bare name matches every tag";
  for (auto bad : {std::pair{"limit", "0"}, std::pair{"limit", "101"}, std::pair{"limit", "x"}}) {
    http::Request garbage;
    garbage.query = {{bad.first, bad.second}};
    EXPECT_FALSE(parse_snapshot_query(garbage)) << bad.first << "=" << bad.second;
  }
}

TEST(ControlRequests, Rfc3339) {
  EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:01Z"), 1'000'000'000);
  EXPECT_EQ(*parse_rfc3339("1970-01-01T01:00:01.5+01:00"), 1'500'000'000);
  EXPECT_FALSE(parse_rfc3339("1970-01-01T00:00:01"));
  EXPECT_FALSE(parse_rfc3339("soon"));
}

}  // namespace
}  // namespace cellblock::api
