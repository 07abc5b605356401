// `cellblock sandbox create|ls|exec|pause|resume|snapshot|snapshots|delete-snapshot|kill`: the people's
// interface to a running `cellblock serve`, over its E2B API.

#include <cstdlib>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "cli/commands.h"
#include "cli/http_call.h"
#include "common/agent_protocol.h"
#include "common/encoding.h"

namespace cellblock::cli {
namespace {

namespace json = boost::json;

struct Connection {
  std::string server = "127.0.0.1:3000";
  std::string api_key;
};

HttpCall base_call(const Connection& connection, std::string method, std::string path) {
  HttpCall call;
  auto colon = connection.server.rfind(':');
  call.host = connection.server.substr(0, colon);
  call.port = static_cast<std::uint16_t>(std::atoi(connection.server.c_str() + colon + 1));
  call.method = std::move(method);
  call.path = std::move(path);
  std::string key = connection.api_key;
  if (key.empty()) {
    if (const char* env = std::getenv("E2B_API_KEY"); env) key = env;
  }
  if (key.empty()) {
    if (const char* env = std::getenv("CELLBLOCK_API_KEY"); env) key = env;
  }
  call.headers.emplace_back("X-API-KEY", key);
  call.headers.emplace_back("Content-Type", "application/json");
  return call;
}

// Runs a call and exits with a clear message on any failure; returns the parsed JSON body.
json::value checked(const HttpCall& call, int expected) {
  auto reply = http_call(call);
  if (!reply) {
    fmt::print(stderr, "cellblock: {}\n", reply.error().message);
    std::exit(1);
  }
  if (reply->status != expected) {
    fmt::print(stderr, "cellblock: {} {} failed with {}: {}\n", call.method, call.path, reply->status,
               reply->body);
    std::exit(1);
  }
  boost::system::error_code ec;
  return reply->body.empty() ? json::value() : json::parse(reply->body, ec);
}

}  // namespace

void add_sandbox_command(CLI::App& app) {
  auto connection = std::make_shared<Connection>();
  CLI::App* sandbox = app.add_subcommand(
      "sandbox", "create, list, use, pause, resume, snapshot and kill sandboxes of a running server");
  sandbox->add_option("--server", connection->server, "the server's ADDR:PORT")->capture_default_str();
  sandbox->add_option("--api-key", connection->api_key,
                      "API key (default: $E2B_API_KEY or $CELLBLOCK_API_KEY)");
  sandbox->require_subcommand(1);

  auto template_id = std::make_shared<std::string>("code-interpreter-v1");
  auto timeout = std::make_shared<int>(300);
  CLI::App* create = sandbox->add_subcommand("create", "create a sandbox and print its id");
  create->add_option("--template", *template_id, "template id or alias")->capture_default_str();
  create->add_option("--timeout", *timeout, "lifetime in seconds")->capture_default_str();
  create->callback([connection, template_id, timeout]() {
    HttpCall call = base_call(*connection, "POST", "/v2/sandboxes");
    json::object body;
    body["templateID"] = *template_id;
    body["timeout"] = *timeout;
    call.body = json::serialize(body);
    auto created = checked(call, 201);
    fmt::print("{}\n", std::string(created.at("sandboxID").as_string()));
    std::exit(0);
  });

  CLI::App* list = sandbox->add_subcommand("ls", "list running and paused sandboxes");
  list->callback([connection]() {
    auto listed = checked(base_call(*connection, "GET", "/v2/sandboxes?limit=100&state=running,paused"), 200);
    fmt::print("{:<22} {:<20} {:<8} {:<28} {:<28}\n", "SANDBOX", "TEMPLATE", "STATE", "STARTED", "ENDS");
    for (const auto& item : listed.as_array()) {
      const auto& sandbox_json = item.as_object();
      fmt::print("{:<22} {:<20} {:<8} {:<28} {:<28}\n", std::string(sandbox_json.at("sandboxID").as_string()),
                 std::string(sandbox_json.at("templateID").as_string()),
                 std::string(sandbox_json.at("state").as_string()),
                 std::string(sandbox_json.at("startedAt").as_string()),
                 std::string(sandbox_json.at("endAt").as_string()));
    }
    std::exit(0);
  });

  auto id = std::make_shared<std::string>();
  auto code = std::make_shared<std::string>();
  CLI::App* exec =
      sandbox->add_subcommand("exec", "run Python code in a sandbox's default context ('-' reads stdin)");
  exec->add_option("id", *id, "sandbox id")->required();
  exec->add_option("code", *code, "the code")->required();
  exec->callback([connection, id, code]() {
    std::string source = *code;
    if (source == "-")
      source.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    auto info = checked(base_call(*connection, "GET", "/sandboxes/" + *id), 200);
    HttpCall call = base_call(*connection, "POST", "/execute");
    call.headers.emplace_back(agent_protocol::kSandboxIdHeader, *id);
    call.headers.emplace_back(agent_protocol::kPortHeader, std::to_string(agent_protocol::kInterpreterPort));
    call.headers.emplace_back(agent_protocol::kAccessTokenHeader,
                              std::string(info.at("envdAccessToken").as_string()));
    json::object body;
    body["code"] = source;
    call.body = json::serialize(body);
    int status = 0;
    std::string pending;
    call.on_body = [&](std::string_view piece) {
      pending.append(piece);
      for (auto eol = pending.find('\n'); eol != std::string::npos; eol = pending.find('\n')) {
        boost::system::error_code ec;
        json::value line = json::parse(std::string_view(pending).substr(0, eol), ec);
        pending.erase(0, eol + 1);
        if (ec || !line.is_object()) continue;
        const auto& object = line.as_object();
        std::string_view type = object.at("type").as_string();
        if (type == "stdout") fmt::print("{}", std::string(object.at("text").as_string()));
        if (type == "stderr") fmt::print(stderr, "{}", std::string(object.at("text").as_string()));
        if (type == "result" && object.contains("text") && object.at("is_main_result").as_bool()) {
          fmt::print("{}\n", std::string(object.at("text").as_string()));
        }
        if (type == "error") {
          fmt::print(stderr, "{}\n", std::string(object.at("traceback").as_string()));
          status = 1;
        }
        std::fflush(stdout);
      }
    };
    auto reply = http_call(call);
    if (!reply || reply->status != 200) {
      fmt::print(stderr, "cellblock: exec failed: {}\n",
                 reply ? std::to_string(reply->status) + " " + reply->body : reply.error().message);
      std::exit(1);
    }
    std::exit(status);
  });

  CLI::App* pause = sandbox->add_subcommand(
      "pause",
      "pause a sandbox: its processes frozen with their memory until it is resumed (no timeout meanwhile)");
  pause->add_option("id", *id, "sandbox id")->required();
  auto no_memory = std::make_shared<bool>(false);
  pause->add_flag("--no-memory", *no_memory,
                  "keep only its files: its processes end and its memory is freed; the resume boots it anew");
  pause->callback([connection, id, no_memory]() {
    HttpCall call = base_call(*connection, "POST", "/sandboxes/" + *id + "/pause");
    call.body = *no_memory ? R"({"memory":false})" : "{}";
    checked(call, 204);
    fmt::print("paused {}{}\n", *id, *no_memory ? " (files only)" : "");
    std::exit(0);
  });

  CLI::App* snapshot = sandbox->add_subcommand(
      "snapshot", "save a running sandbox's files as a snapshot new sandboxes can start from");
  snapshot->add_option("id", *id, "sandbox id")->required();
  auto name = std::make_shared<std::string>();
  snapshot->add_option("--name", *name, "[<namespace>/]<name>[:<tag>]; a name taken moves to this snapshot");
  snapshot->callback([connection, id, name]() {
    HttpCall call = base_call(*connection, "POST", "/sandboxes/" + *id + "/snapshots");
    json::object body;
    if (!name->empty()) body["name"] = *name;
    call.body = json::serialize(body);
    json::value created = checked(call, 201);
    fmt::print("{}\n", json::value_to<std::string>(created.at("snapshotID")));
    std::exit(0);
  });

  CLI::App* snapshots = sandbox->add_subcommand("snapshots", "list snapshots, newest first");
  snapshots->callback([connection]() {
    json::value listed = checked(base_call(*connection, "GET", "/snapshots?limit=100"), 200);
    fmt::print("{:<48} {:>10}  {}\n", "SNAPSHOT", "SIZE", "FROM SANDBOX");
    for (const auto& item : listed.as_array()) {
      const auto& object = item.as_object();
      fmt::print(
          "{:<48} {:>10}  {}\n", json::value_to<std::string>(object.at("snapshotID")),
          fmt::format("{:.1f} MiB",
                      static_cast<double>(object.at("sizeBytes").to_number<std::int64_t>()) / (1 << 20)),
          json::value_to<std::string>(object.at("sandboxID")));
    }
    std::exit(0);
  });

  CLI::App* delete_snapshot =
      sandbox->add_subcommand("delete-snapshot", "delete a snapshot (every tag of its name)");
  delete_snapshot->add_option("snapshot", *id, "snapshot id, as `snapshots` lists it")->required();
  delete_snapshot->callback([connection, id]() {
    checked(base_call(*connection, "DELETE", "/templates/" + percent_encode(*id)), 204);
    fmt::print("deleted {}\n", *id);
    std::exit(0);
  });

  CLI::App* resume = sandbox->add_subcommand("resume", "resume a paused sandbox for --timeout seconds");
  resume->add_option("id", *id, "sandbox id")->required();
  resume->add_option("--timeout", *timeout, "lifetime from now in seconds")->capture_default_str();
  resume->callback([connection, id, timeout]() {
    HttpCall call = base_call(*connection, "POST", "/sandboxes/" + *id + "/resume");
    json::object body;
    body["timeout"] = *timeout;
    call.body = json::serialize(body);
    checked(call, 201);
    fmt::print("resumed {}\n", *id);
    std::exit(0);
  });

  CLI::App* kill = sandbox->add_subcommand("kill", "kill a sandbox");
  kill->add_option("id", *id, "sandbox id")->required();
  kill->callback([connection, id]() {
    checked(base_call(*connection, "DELETE", "/sandboxes/" + *id), 204);
    fmt::print("killed {}\n", *id);
    std::exit(0);
  });
}

}  // namespace cellblock::cli
