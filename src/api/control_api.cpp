#include "api/control_api.h"

#include <boost/json.hpp>

#include "api/control_requests.h"
#include "api/control_responses.h"

namespace cellblock::api {
namespace {

namespace json = boost::json;
using http::Response;
constexpr std::size_t kMaxBody = 1024 * 1024;

Response json_reply(int status, const json::value& value) {
  return http::json_response(status, json::serialize(value));
}

Response no_content() {
  Response response;
  response.status = 204;
  return response;
}

// Reads the whole body (at most kMaxBody) and parses it with one of control_requests.h's parsers.
template <class Parsed>
asio::awaitable<Result<Parsed>> read_parsed(http::BodyReader& body,
                                            Result<Parsed> (*parse)(std::string_view)) {
  auto text = co_await body.read_all(kMaxBody);
  if (!text) co_return tl::unexpected(text.error());
  co_return parse(*text);
}

std::string_view raw_path(const http::Request& request) {
  std::string_view target = request.target;
  return target.substr(0, target.find('?'));
}

}  // namespace

ControlApi::ControlApi(sandbox::SandboxManager& sandboxes, store::ApiKeyStore& keys, ApiSettings settings)
    : sandboxes_(sandboxes), keys_(keys), settings_(std::move(settings)) {}

asio::awaitable<void> ControlApi::handle(http::Request& request, http::BodyReader& body,
                                         http::ResponseWriter& writer) {
  Result<Response> answer = fail(ErrorCode::kUnauthenticated, "missing X-API-KEY header");
  if (auto key = request.header("X-API-KEY")) {
    if (!keys_.verify(*key)) {
      answer = fail(ErrorCode::kUnauthenticated, "invalid API key");
    } else if (auto route = match_route(request.method, raw_path(request)); !route) {
      answer = tl::unexpected(route.error());
    } else {
      answer = co_await dispatch(*route, request, body);
    }
  }
  // g++ 12: the response is a named local, never a temporary built inside the co_await expression.
  Response response = answer ? std::move(*answer) : http::error_response(answer.error());
  co_await writer.send(std::move(response));
}

asio::awaitable<Result<Response>> ControlApi::dispatch(const ControlRoute& route, http::Request& request,
                                                       http::BodyReader& body) {
  const std::string& id = route.param;
  switch (route.action) {
    case Action::kCreate:
      co_return co_await create(body, route.v1);
    case Action::kList: {
      auto query = parse_list_query(request, route.v1);
      if (!query) co_return tl::unexpected(query.error());
      auto page = sandboxes_.list(*query);
      if (!page) co_return tl::unexpected(page.error());
      json::array out;
      for (const auto& record : page->records) out.push_back(listed_json(record));
      Response response = json_reply(200, out);
      if (!page->next_cursor.empty() && !route.v1) response.headers.add("X-Next-Token", page->next_cursor);
      co_return response;
    }
    case Action::kGet: {
      auto record = sandboxes_.get(id);
      if (!record) co_return tl::unexpected(record.error());
      co_return json_reply(200, detail_json(*record, settings_.domain));
    }
    case Action::kKill: {
      std::string reason = "killed by the API";
      if (Status killed = co_await sandboxes_.kill(id, std::move(reason)); !killed) {
        co_return tl::unexpected(killed.error());
      }
      co_return no_content();
    }
    case Action::kSetTimeout:
      co_return co_await set_timeout(id, body);
    case Action::kUpdateNetwork:
      co_return co_await update_network(id, body);
    case Action::kConnect:
      co_return co_await connect(id, body);
    case Action::kResume:
      co_return co_await resume(id, body);
    case Action::kPause:
      co_return co_await pause(id, body);
    case Action::kMetrics: {
      auto range = parse_metrics_query(request);
      if (!range) co_return tl::unexpected(range.error());
      auto samples = sandboxes_.metrics(id, range->start_unix, range->end_unix);
      if (!samples) co_return tl::unexpected(samples.error());
      co_return json_reply(200, metrics_json(*samples));
    }
    case Action::kListTemplates:
      co_return json_reply(200, templates_json(sandboxes_.templates()));
    case Action::kTemplateAlias:
      co_return template_alias(id);
    case Action::kSnapshot:
      co_return co_await create_snapshot(id, body);
    case Action::kListSnapshots:
      co_return list_snapshots(request);
    case Action::kDeleteTemplate:
      co_return co_await delete_template(id);
  }
  co_return fail(ErrorCode::kInternal, "unhandled route");
}

asio::awaitable<Result<Response>> ControlApi::create(http::BodyReader& body, bool v1) {
  auto text = co_await body.read_all(kMaxBody);
  if (!text) co_return tl::unexpected(text.error());
  auto command = parse_create(*text, v1);
  if (!command) co_return tl::unexpected(command.error());
  auto record = co_await sandboxes_.create(std::move(*command));
  if (!record) co_return tl::unexpected(record.error());
  co_return json_reply(201, sandbox_json(*record, settings_.domain));
}

asio::awaitable<Result<Response>> ControlApi::connect(const std::string& id, http::BodyReader& body) {
  auto request = co_await read_parsed(body, &parse_connect);
  if (!request) co_return tl::unexpected(request.error());
  auto outcome = co_await sandboxes_.connect(id, request->timeout_seconds, request->keep_memory);
  if (!outcome) co_return tl::unexpected(outcome.error());
  co_return json_reply(outcome->resumed ? 201 : 200, sandbox_json(outcome->record, settings_.domain));
}

asio::awaitable<Result<Response>> ControlApi::resume(const std::string& id, http::BodyReader& body) {
  auto request = co_await read_parsed(body, &parse_connect);
  if (!request) co_return tl::unexpected(request.error());
  auto record = co_await sandboxes_.resume(id, request->timeout_seconds);
  if (!record) co_return tl::unexpected(record.error());
  co_return json_reply(201, sandbox_json(*record, settings_.domain));
}

asio::awaitable<Result<Response>> ControlApi::pause(const std::string& id, http::BodyReader& body) {
  auto request = co_await read_parsed(body, &parse_pause);
  if (!request) co_return tl::unexpected(request.error());
  if (Status paused = co_await sandboxes_.pause(id, request->keep_memory); !paused) {
    co_return tl::unexpected(paused.error());
  }
  co_return no_content();
}

asio::awaitable<Result<Response>> ControlApi::set_timeout(const std::string& id, http::BodyReader& body) {
  auto seconds = co_await read_parsed(body, &parse_set_timeout);
  if (!seconds) co_return tl::unexpected(seconds.error());
  if (Status set = co_await sandboxes_.set_timeout(id, *seconds); !set) co_return tl::unexpected(set.error());
  co_return no_content();
}

asio::awaitable<Result<Response>> ControlApi::update_network(const std::string& id, http::BodyReader& body) {
  auto update = co_await read_parsed(body, &parse_update_network);
  if (!update) co_return tl::unexpected(update.error());
  if (Status set = co_await sandboxes_.update_network(id, std::move(*update)); !set) {
    co_return tl::unexpected(set.error());
  }
  co_return no_content();
}

asio::awaitable<Result<Response>> ControlApi::create_snapshot(const std::string& id, http::BodyReader& body) {
  auto name = co_await read_parsed(body, &parse_create_snapshot);
  if (!name) co_return tl::unexpected(name.error());
  auto snapshot = co_await sandboxes_.create_snapshot(id, std::move(*name));
  if (!snapshot) co_return tl::unexpected(snapshot.error());
  co_return json_reply(201, snapshot_json(*snapshot));
}

Result<Response> ControlApi::list_snapshots(const http::Request& request) {
  auto query = parse_snapshot_query(request);
  if (!query) return tl::unexpected(query.error());
  auto page = sandboxes_.list_snapshots(*query);
  if (!page) return tl::unexpected(page.error());
  json::array out;
  for (const auto& snapshot : page->records) out.push_back(snapshot_json(snapshot));
  Response response = json_reply(200, out);
  if (!page->next_cursor.empty()) response.headers.add("X-Next-Token", page->next_cursor);
  return response;
}

// Only snapshots' templates can be deleted: the built-in ones belong to the server's configuration.
asio::awaitable<Result<Response>> ControlApi::delete_template(const std::string& id) {
  if (sandboxes_.find_template(id)) {
    co_return fail(ErrorCode::kInvalidArgument,
                   "template '" + id + "' is built into this server and cannot be deleted");
  }
  auto deleted = co_await sandboxes_.delete_snapshot(id);
  if (!deleted) co_return tl::unexpected(deleted.error());
  if (!*deleted) co_return fail(ErrorCode::kNotFound, "template '" + id + "' not found");
  co_return no_content();
}

// Template.exists(): every template of this server (built in, or a snapshot's) is the caller's own (one
// team), so 200 or 404.
Result<Response> ControlApi::template_alias(const std::string& alias) const {
  if (const sandbox::TemplateEntry* entry = sandboxes_.find_template(alias)) {
    return json_reply(200, json::object{{"templateID", entry->info.name}, {"public", false}});
  }
  auto snapshot = sandboxes_.find_snapshot(alias);
  if (!snapshot && snapshot.error().code != ErrorCode::kNotFound) return tl::unexpected(snapshot.error());
  if (!snapshot) return fail(ErrorCode::kNotFound, "template '" + alias + "' not found");
  return json_reply(200, json::object{{"templateID", snapshot->template_id}, {"public", false}});
}

}  // namespace cellblock::api
