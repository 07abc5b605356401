#include "agent/envd/process_rpc.h"
#include "common/async_primitives.h"

#include <csignal>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/encoding.h"
#include "http/codec/connect_envelope.h"

namespace cellblock::agent {
namespace {

namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

json::object wrap_event(const char* kind, json::object body) {
  json::object inner;
  inner[kind] = std::move(body);
  json::object event;
  event["event"] = std::move(inner);
  return event;
}

json::object event_json(const ProcessEvent& event) {
  if (const auto* start = std::get_if<StartEvent>(&event)) {
    json::object body;
    body["pid"] = start->pid;
    return wrap_event("start", std::move(body));
  }
  if (const auto* data = std::get_if<DataEvent>(&event)) {
    json::object body;
    const char* key = data->stream == OutputStream::kStdout   ? "stdout"
                      : data->stream == OutputStream::kStderr ? "stderr"
                                                              : "pty";
    body[key] = base64_encode(data->bytes);
    return wrap_event("data", std::move(body));
  }
  const auto& end = std::get<EndEvent>(event);
  json::object body;
  body["exitCode"] = end.exit_code;
  body["exited"] = end.exited;
  body["status"] = end.status;
  if (end.error) body["error"] = *end.error;
  return wrap_event("end", std::move(body));
}

json::object config_json(const ProcessConfig& config) {
  json::object out;
  out["cmd"] = config.cmd;
  json::array args;
  for (const auto& arg : config.args) args.push_back(json::string(arg));
  out["args"] = std::move(args);
  json::object envs;
  for (const auto& [key, value] : config.envs) envs[key] = value;
  out["envs"] = std::move(envs);
  if (config.cwd) out["cwd"] = *config.cwd;
  return out;
}

Result<ProcessConfig> parse_config(const json::object& message) {
  if (auto ok = expect_known_fields(message, {"cmd", "args", "envs", "cwd"}, "ProcessConfig"); !ok) {
    return tl::unexpected(ok.error());
  }
  ProcessConfig config;
  auto cmd = string_field(message, "cmd", true);
  if (!cmd) return tl::unexpected(cmd.error());
  if (cmd->empty()) return fail(ErrorCode::kInvalidArgument, "field 'cmd' must not be empty");
  config.cmd = std::move(*cmd);
  if (auto it = message.find("args"); it != message.end() && !it->value().is_null()) {
    if (!it->value().is_array())
      return fail(ErrorCode::kInvalidArgument, "field 'args' must be an array of strings");
    for (const auto& arg : it->value().get_array()) {
      if (!arg.is_string())
        return fail(ErrorCode::kInvalidArgument, "field 'args' must be an array of strings");
      config.args.emplace_back(arg.get_string());
    }
  }
  if (auto it = message.find("envs"); it != message.end() && !it->value().is_null()) {
    if (!it->value().is_object())
      return fail(ErrorCode::kInvalidArgument, "field 'envs' must be a map of strings");
    for (const auto& [key, value] : it->value().get_object()) {
      if (!value.is_string())
        return fail(ErrorCode::kInvalidArgument, "field 'envs' must be a map of strings");
      config.envs[std::string(key)] = std::string(value.get_string());
    }
  }
  auto cwd = optional_string_field(message, "cwd");
  if (!cwd) return tl::unexpected(cwd.error());
  config.cwd = std::move(*cwd);
  return config;
}

Result<std::optional<PtySize>> parse_pty(const json::object& message) {
  auto pty = object_field(message, "pty");
  if (!pty) return tl::unexpected(pty.error());
  if (!*pty) return std::optional<PtySize>();
  if (auto ok = expect_known_fields(**pty, {"size"}, "PTY"); !ok) return tl::unexpected(ok.error());
  auto size = object_field(**pty, "size");
  if (!size) return tl::unexpected(size.error());
  PtySize out;
  if (*size) {
    if (auto ok = expect_known_fields(**size, {"cols", "rows"}, "PTY.Size"); !ok)
      return tl::unexpected(ok.error());
    auto cols = int_field(**size, "cols", 80);
    auto rows = int_field(**size, "rows", 24);
    if (!cols) return tl::unexpected(cols.error());
    if (!rows) return tl::unexpected(rows.error());
    if (*cols <= 0 || *rows <= 0 || *cols > 10000 || *rows > 10000) {
      return fail(ErrorCode::kInvalidArgument, "PTY size must be between 1 and 10000");
    }
    out.cols = static_cast<std::uint32_t>(*cols);
    out.rows = static_cast<std::uint32_t>(*rows);
  }
  return std::optional<PtySize>(out);
}

Result<int> parse_signal(const json::object& message) {
  auto it = message.find("signal");
  if (it == message.end()) return fail(ErrorCode::kInvalidArgument, "field 'signal' is required");
  const json::value& value = it->value();
  if (value.is_string()) {
    if (value.get_string() == "SIGNAL_SIGKILL") return SIGKILL;
    if (value.get_string() == "SIGNAL_SIGTERM") return SIGTERM;
  } else if (value.is_int64()) {
    if (value.get_int64() == 9) return SIGKILL;
    if (value.get_int64() == 15) return SIGTERM;
  }
  return fail(ErrorCode::kInvalidArgument, "unsupported signal (use SIGNAL_SIGKILL or SIGNAL_SIGTERM)");
}

// Streams a subscription until its End event; keepalives while idle; the stream's own deadline ends it with
// deadline_exceeded. A client that goes away only drops the subscription: the process keeps running.
asio::awaitable<Status> pump_events(Subscription subscription, RpcContext& context, RpcStream& stream,
                                    bool deadline_kills) {
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    auto wait = context.keepalive_interval;
    if (context.timeout && !deadline_kills) {
      auto left = *context.timeout - (std::chrono::steady_clock::now() - started);
      if (left <= std::chrono::steady_clock::duration::zero()) {
        co_return fail(ErrorCode::kDeadlineExceeded, "the stream reached its deadline");
      }
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::seconds>(left) + std::chrono::seconds(1));
    }
    auto next = co_await (subscription.next() || sleep_for(wait) || stream.wait_client_closed());
    if (next.index() == 2) co_return Status{};  // client gone
    if (next.index() == 1) {
      const json::object keepalive = wrap_event("keepalive", json::object{});
      if (!co_await stream.send(keepalive)) co_return Status{};
      continue;
    }
    auto& event = std::get<0>(next);
    if (!event) co_return Status{};
    const json::object message = event_json(*event);
    if (!co_await stream.send(message)) co_return Status{};
    if (const auto* end = std::get_if<EndEvent>(&*event)) {
      if (end->deadline_exceeded)
        co_return fail(ErrorCode::kDeadlineExceeded, "the process reached its timeout");
      co_return Status{};
    }
  }
}

}  // namespace

asio::awaitable<void> ProcessRpc::serve(std::string_view method, http::Request& request,
                                        http::BodyReader& body, http::ResponseWriter& writer) {
  auto unary = [&](auto fn) -> asio::awaitable<void> {
    co_await serve_unary(
        request, body, writer,
        [&](const json::object& message, RpcContext&) -> asio::awaitable<Result<json::object>> {
          co_return fn(message);
        });
  };
  if (method == "Start") {
    co_await serve_stream(request, body, writer, [this](const json::object& m, RpcContext& c, RpcStream& s) {
      return start(m, c, s);
    });
  } else if (method == "Connect") {
    co_await serve_stream(request, body, writer, [this](const json::object& m, RpcContext& c, RpcStream& s) {
      return connect(m, c, s);
    });
  } else if (method == "List") {
    co_await unary([this](const json::object&) { return list(); });
  } else if (method == "SendInput") {
    co_await unary([this](const json::object& m) { return send_input(m); });
  } else if (method == "SendSignal") {
    co_await unary([this](const json::object& m) { return send_signal(m); });
  } else if (method == "CloseStdin") {
    co_await unary([this](const json::object& m) { return close_stdin(m); });
  } else if (method == "Update") {
    co_await unary([this](const json::object& m) { return update(m); });
  } else if (method == "StreamInput") {
    co_await stream_input(request, body, writer);
  } else {
    co_await send_rpc_error(writer, ErrorCode::kUnimplemented,
                            "unknown method process.Process/" + std::string(method));
  }
}

asio::awaitable<Status> ProcessRpc::start(const json::object& message, RpcContext& context,
                                          RpcStream& stream) {
  if (auto ok = expect_known_fields(message, {"process", "pty", "tag", "stdin"}, "StartRequest"); !ok)
    co_return ok;
  auto process_field = object_field(message, "process");
  if (!process_field) co_return tl::unexpected(process_field.error());
  if (!*process_field) co_return fail(ErrorCode::kInvalidArgument, "field 'process' is required");
  auto config = parse_config(**process_field);
  if (!config) co_return tl::unexpected(config.error());
  auto pty = parse_pty(message);
  if (!pty) co_return tl::unexpected(pty.error());
  auto tag = optional_string_field(message, "tag");
  if (!tag) co_return tl::unexpected(tag.error());
  auto stdin_open = bool_field(message, "stdin", false);
  if (!stdin_open) co_return tl::unexpected(stdin_open.error());
  auto user = resolve_user(users_, context.user);
  if (!user) {
    // A named user that does not exist is a bad argument of Start (reference envd), not a failed login.
    if (context.user && user.error().code == ErrorCode::kUnauthenticated) {
      co_return fail(ErrorCode::kInvalidArgument, user.error().message);
    }
    co_return tl::unexpected(user.error());
  }

  StartSpec spec;
  spec.config = std::move(*config);
  spec.pty = *pty;
  spec.tag = std::move(*tag);
  spec.stdin_open = *stdin_open;
  spec.user = std::move(*user);
  spec.timeout = context.timeout;
  auto process = table_.start(std::move(spec));
  if (!process) co_return tl::unexpected(process.error());
  co_return co_await pump_events((*process)->subscribe(), context, stream, true);
}

asio::awaitable<Status> ProcessRpc::connect(const json::object& message, RpcContext& context,
                                            RpcStream& stream) {
  if (auto ok = expect_known_fields(message, {"process"}, "ConnectRequest"); !ok) co_return ok;
  auto process = select(message);
  if (!process) co_return tl::unexpected(process.error());
  co_return co_await pump_events((*process)->subscribe(), context, stream, false);
}

Result<std::shared_ptr<Process>> ProcessRpc::select(const json::object& message) const {
  auto selector = object_field(message, "process");
  if (!selector) return tl::unexpected(selector.error());
  if (!*selector)
    return fail(ErrorCode::kInvalidArgument, "field 'process' (a pid or tag selector) is required");
  if (auto ok = expect_known_fields(**selector, {"pid", "tag"}, "ProcessSelector"); !ok)
    return tl::unexpected(ok.error());
  if ((*selector)->contains("pid")) {
    auto pid = int_field(**selector, "pid");
    if (!pid) return tl::unexpected(pid.error());
    if (*pid <= 0 || *pid > UINT32_MAX) return fail(ErrorCode::kInvalidArgument, "invalid pid");
    return table_.find(static_cast<std::uint32_t>(*pid));
  }
  auto tag = string_field(**selector, "tag", true);
  if (!tag) return tl::unexpected(tag.error());
  return table_.find_tag(*tag);
}

Result<json::object> ProcessRpc::list() const {
  json::array processes;
  for (const auto& info : table_.list()) {
    json::object item;
    item["config"] = config_json(info.config);
    item["pid"] = info.pid;
    if (info.tag) item["tag"] = *info.tag;
    processes.push_back(std::move(item));
  }
  json::object out;
  out["processes"] = std::move(processes);
  return out;
}

Result<json::object> ProcessRpc::send_input(const json::object& message) {
  if (auto ok = expect_known_fields(message, {"process", "input"}, "SendInputRequest"); !ok)
    return tl::unexpected(ok.error());
  auto process = select(message);
  if (!process) return tl::unexpected(process.error());
  auto input = object_field(message, "input");
  if (!input) return tl::unexpected(input.error());
  if (!*input) return fail(ErrorCode::kInvalidArgument, "field 'input' is required");
  if (auto ok = expect_known_fields(**input, {"stdin", "pty"}, "ProcessInput"); !ok)
    return tl::unexpected(ok.error());
  const bool to_pty = (*input)->contains("pty");
  auto bytes = bytes_field(**input, to_pty ? "pty" : "stdin");
  if (!bytes) return tl::unexpected(bytes.error());
  Status sent = to_pty ? (*process)->send_pty(std::move(*bytes)) : (*process)->send_stdin(std::move(*bytes));
  if (!sent) return tl::unexpected(sent.error());
  return json::object{};
}

Result<json::object> ProcessRpc::send_signal(const json::object& message) {
  if (auto ok = expect_known_fields(message, {"process", "signal"}, "SendSignalRequest"); !ok)
    return tl::unexpected(ok.error());
  auto process = select(message);
  if (!process) return tl::unexpected(process.error());
  auto signo = parse_signal(message);
  if (!signo) return tl::unexpected(signo.error());
  if (auto ok = (*process)->signal(*signo); !ok) return tl::unexpected(ok.error());
  return json::object{};
}

Result<json::object> ProcessRpc::close_stdin(const json::object& message) {
  if (auto ok = expect_known_fields(message, {"process"}, "CloseStdinRequest"); !ok)
    return tl::unexpected(ok.error());
  auto process = select(message);
  if (!process) return tl::unexpected(process.error());
  if (auto ok = (*process)->close_stdin(); !ok) return tl::unexpected(ok.error());
  return json::object{};
}

Result<json::object> ProcessRpc::update(const json::object& message) {
  if (auto ok = expect_known_fields(message, {"process", "pty"}, "UpdateRequest"); !ok)
    return tl::unexpected(ok.error());
  auto process = select(message);
  if (!process) return tl::unexpected(process.error());
  auto pty = parse_pty(message);
  if (!pty) return tl::unexpected(pty.error());
  if (*pty) {
    if (auto ok = (*process)->resize(**pty); !ok) return tl::unexpected(ok.error());
  }
  return json::object{};
}

// Client streaming: envelopes {start: {process}}, then {data: {input}} or {keepalive: {}}, until the body
// ends.
asio::awaitable<Status> ProcessRpc::stream_input(http::Request& request, http::BodyReader& body,
                                                 http::ResponseWriter& writer) {
  std::string_view type = request.header("Content-Type").value_or("");
  if (!type.starts_with("application/connect+json")) {
    co_await send_rpc_error(writer, ErrorCode::kUnsupportedMedia,
                            "StreamInput needs application/connect+json");
    co_return Status{};
  }
  http::EnvelopeDecoder decoder(kMaxRpcMessageBytes);
  std::shared_ptr<Process> process;
  Status status;
  std::vector<char> buffer(64 * 1024);
  bool ended = false;
  while (status && !ended) {
    auto n = co_await body.read_some(std::span<char>(buffer));
    if (!n) {
      status = tl::unexpected(n.error());
      break;
    }
    if (*n == 0) {
      status = decoder.finish();
      break;
    }
    status = decoder.feed(std::string_view(buffer.data(), *n));
    while (status) {
      auto envelope = decoder.next();
      if (!envelope) {
        status = tl::unexpected(envelope.error());
        break;
      }
      if (!*envelope) break;
      if ((*envelope)->end_stream()) {
        ended = true;
        break;
      }
      boost::system::error_code ec;
      json::value value = json::parse((*envelope)->payload, ec);
      if (ec || !value.is_object()) {
        status = fail(ErrorCode::kInvalidArgument, "StreamInput message is not a JSON object");
        break;
      }
      const json::object& message = value.get_object();
      if (auto start = object_field(message, "start"); start && *start) {
        auto selected = select(**start);
        if (!selected) {
          status = tl::unexpected(selected.error());
        } else {
          process = *selected;
        }
      } else if (auto data = object_field(message, "data"); data && *data) {
        if (!process) {
          status = fail(ErrorCode::kInvalidArgument, "StreamInput: the first message must be 'start'");
          break;
        }
        json::object wrapper;
        wrapper["input"] = (*data)->contains("input") ? (*data)->at("input") : json::value(json::object{});
        auto input = object_field(wrapper, "input");
        const bool to_pty = input && *input && (*input)->contains("pty");
        auto bytes =
            input && *input ? bytes_field(**input, to_pty ? "pty" : "stdin") : Result<std::string>("");
        if (!bytes) {
          status = tl::unexpected(bytes.error());
        } else {
          status = to_pty ? process->send_pty(std::move(*bytes)) : process->send_stdin(std::move(*bytes));
        }
      }
    }
  }
  http::Headers headers;
  headers.add("Content-Type", "application/connect+json");
  if (!co_await writer.begin_stream(200, std::move(headers))) co_return Status{};
  std::string out;
  if (status) out = http::encode_envelope(0, "{}");
  out += http::encode_envelope(
      http::kEndStreamFlag,
      status ? http::end_stream_ok() : http::end_stream_error(status.error().code, status.error().message));
  if (co_await writer.write_chunk(out)) co_await writer.end_stream();
  co_return Status{};
}

}  // namespace cellblock::agent
