#include "agent/interpreter/interpreter_service.h"
#include "common/async_primitives.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "agent/interpreter/event_queue.h"
#include "agent/interpreter/ndjson_mapping.h"
#include "agent/interpreter/request_parsing.h"
#include "common/encoding.h"

namespace cellblock::interpreter {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
namespace json = boost::json;

http::Response json_ok(const json::value& value) {
  return http::json_response(200, json::serialize(value));
}

json::object context_json(const Context& context) {
  json::object out;
  out["id"] = context.id;
  out["language"] = context.language;
  out["cwd"] = context.cwd;
  return out;
}

void append_line(std::string& batch, const json::object& line) {
  batch += json::serialize(line);
  batch += '\n';
}

// Says how much output was dropped because the client read more slowly than the cell wrote (bounded memory).
void append_dropped_notice(std::string& batch, std::size_t dropped) {
  if (dropped == 0) return;
  jupyter::StreamOutput notice{true,
                               "[cellblock] " + std::to_string(dropped) +
                                   " output messages were dropped: the client read more slowly than the "
                                   "cell wrote\n"};
  append_line(batch, stream_line(notice, rfc3339_now()));
}

bool is_done(const jupyter::ExecuteEvent& event) {
  return std::holds_alternative<jupyter::ExecuteDone>(event);
}

// Runs set-up code (env assignments) without output; the result only matters for the log.
asio::awaitable<void> run_silent(jupyter::Kernel& kernel, std::string code) {
  auto queue = std::make_shared<EventQueue>(co_await asio::this_coro::executor, 1024 * 1024);
  jupyter::ExecuteOptions options;
  options.silent = true;
  options.store_history = false;
  auto started = kernel.execute(std::move(code), options,
                                [queue](jupyter::ExecuteEvent&& e) { queue->push(std::move(e)); });
  if (!started) {
    spdlog::warn("silent execution failed to start: {}", started.error().message);
    co_return;
  }
  for (;;) {
    for (auto& event : co_await queue->pop_all()) {
      if (const auto* error = std::get_if<jupyter::ExecuteError>(&event)) {
        spdlog::warn("silent execution raised {}: {}", error->ename, error->evalue);
      }
      if (is_done(event)) co_return;
    }
  }
}

}  // namespace

InterpreterService::InterpreterService(ContextRegistry& contexts,
                                       std::function<Status(const http::Request&)> authorize,
                                       ExecuteLimits limits)
    : contexts_(contexts), authorize_(std::move(authorize)), limits_(limits) {}

asio::awaitable<void> InterpreterService::handle(http::Request& request, http::BodyReader& body,
                                                 http::ResponseWriter& writer) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/health" && method == "GET") {
    co_await writer.send(json_ok(json::value("OK")));
    co_return;
  }
  if (path == "/execute") {
    if (method != "POST") {
      co_await writer.send(http::error_response(ErrorCode::kMethodNotAllowed, "use POST /execute"));
      co_return;
    }
    co_await execute(request, body, writer);
    co_return;
  }
  if (path == "/contexts") {
    if (method == "POST") {
      co_await create_context(body, writer);
    } else if (method == "GET") {
      co_await list_contexts(writer);
    } else {
      co_await writer.send(http::error_response(ErrorCode::kMethodNotAllowed, "use GET or POST /contexts"));
    }
    co_return;
  }
  constexpr std::string_view kPrefix = "/contexts/";
  if (path.starts_with(kPrefix)) {
    std::string_view rest = std::string_view(path).substr(kPrefix.size());
    Status status;
    if (rest.ends_with("/restart") && method == "POST") {
      status = co_await contexts_.restart(rest.substr(0, rest.size() - std::string_view("/restart").size()));
    } else if (rest.find('/') == std::string_view::npos && method == "DELETE") {
      status = co_await contexts_.remove(rest);
    } else {
      status = fail(ErrorCode::kNotFound, "no route for " + method + " " + path);
    }
    // g++ 12 destroys the temporaries of a conditional inside co_await twice: name the value first.
    http::Response response = status ? json_ok(nullptr) : http::error_response(status.error());
    co_await writer.send(std::move(response));
    co_return;
  }
  co_await writer.send(http::error_response(ErrorCode::kNotFound, "no route for " + method + " " + path));
}

asio::awaitable<void> InterpreterService::create_context(http::BodyReader& body,
                                                         http::ResponseWriter& writer) {
  auto text = co_await body.read_all(64 * 1024);
  auto parsed =
      text ? parse_create_context(*text) : Result<CreateContextRequest>(tl::unexpected(text.error()));
  if (!parsed) {
    co_await writer.send(http::error_response(parsed.error()));
    co_return;
  }
  auto context = co_await contexts_.create(parsed->language, parsed->cwd);
  if (!context) {
    co_await writer.send(http::error_response(context.error()));
    co_return;
  }
  co_await writer.send(json_ok(context_json(**context)));
}

asio::awaitable<void> InterpreterService::list_contexts(http::ResponseWriter& writer) {
  json::array out;
  for (const auto& context : contexts_.list()) out.push_back(context_json(*context));
  co_await writer.send(json_ok(out));
}

asio::awaitable<void> InterpreterService::execute(http::Request& request, http::BodyReader& body,
                                                  http::ResponseWriter& writer) {
  if (auto allowed = authorize_(request); !allowed) {
    co_await writer.send(http::error_response(allowed.error()));
    co_return;
  }
  auto text = co_await body.read_all(limits_.max_request_bytes);
  auto parsed = text ? parse_execute(*text) : Result<ExecuteRequest>(tl::unexpected(text.error()));
  if (!parsed) {
    co_await writer.send(http::error_response(parsed.error()));
    co_return;
  }
  Result<std::shared_ptr<Context>> context = fail(ErrorCode::kInternal, "no context");
  if (parsed->context_id) {
    auto found = contexts_.find(*parsed->context_id);
    if (found) {
      context = found;
    } else {
      context = fail(ErrorCode::kNotFound, "Context " + *parsed->context_id + " not found");
    }
  } else {
    context = co_await contexts_.default_context(parsed->language);
  }
  if (!context) {
    co_await writer.send(http::error_response(context.error()));
    co_return;
  }

  http::Headers headers;
  headers.add("Content-Type", "application/x-ndjson");
  headers.add("Cache-Control", "no-store");
  if (!co_await writer.begin_stream(200, std::move(headers))) co_return;

  auto guard = co_await (*context)->lock.lock();
  jupyter::Kernel* kernel = (*context)->kernel.get();
  bool client_gone = false;
  auto send_text = [&](const std::string& text) -> asio::awaitable<void> {
    if (client_gone || text.empty()) co_return;
    if (!co_await writer.write_chunk(text)) client_gone = true;
  };
  auto finish = [&](std::string batch) -> asio::awaitable<void> {
    append_line(batch, end_line());
    co_await send_text(batch);
    if (!client_gone) co_await writer.end_stream();
  };

  if (kernel == nullptr) {
    std::string batch;
    append_line(batch, error_line("ContextRemoved", "The context was removed", ""));
    co_await finish(std::move(batch));
    co_return;
  }
  if ((*context)->env_version != contexts_.env_version()) {
    co_await run_silent(*kernel, apply_env_code(contexts_.sandbox_env()));
    (*context)->env_version = contexts_.env_version();
  }
  if (!parsed->env_vars.empty()) co_await run_silent(*kernel, set_env_code(parsed->env_vars));

  auto queue = std::make_shared<EventQueue>(co_await asio::this_coro::executor, limits_.max_buffered_output);
  auto started =
      kernel->execute(parsed->code, {}, [queue](jupyter::ExecuteEvent&& e) { queue->push(std::move(e)); });
  if (!started) {
    std::string batch;
    append_line(batch, error_line("ExecutionFailed", started.error().message, ""));
    co_await finish(std::move(batch));
  } else {
    ExecutionMapper mapper;
    bool done = false;
    bool interrupted = false;
    while (!done) {
      if (client_gone && !interrupted) {
        // The client went away: free the context for the next caller (e2b-api.md §7.7).
        interrupted = true;
        kernel->interrupt();
      }
      std::deque<jupyter::ExecuteEvent> events;
      if (client_gone) {
        events = co_await queue->pop_all();
      } else {
        auto next = co_await (queue->pop_all() || sleep_for(limits_.keepalive_interval) ||
                              writer.wait_client_closed());
        if (next.index() == 1) {
          std::string keepalive;
          append_line(keepalive, keepalive_line());
          co_await send_text(keepalive);
          continue;
        }
        if (next.index() == 2) {
          client_gone = true;
          continue;
        }
        events = std::move(std::get<0>(next));
      }
      // All lines of a batch go out in one chunk (fewer syscalls); a line never straddles two chunks.
      const std::string timestamp = rfc3339_now();
      std::string batch;
      for (auto& event : events) {
        done = done || is_done(event);
        if (auto line = mapper.map(event, timestamp)) append_line(batch, *line);
      }
      if (done) {
        append_dropped_notice(batch, queue->dropped());
        co_await finish(std::move(batch));
      } else {
        co_await send_text(batch);
      }
    }
  }
  // Restored after the answer went out, still under the context's lock, so the next cell sees the old values.
  if (!parsed->env_vars.empty()) co_await run_silent(*kernel, restore_env_code());
}

}  // namespace cellblock::interpreter
