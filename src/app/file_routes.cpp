#include "app/file_routes.h"

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "app/handler_json.h"
#include "chat/stream_json.h"
#include "common/encoding.h"
#include "http/proxy.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::string_view kHome = "/home/user";
constexpr std::string_view kUser = "user";

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Paths are absolute and plain: no "..", no NUL. Relative ones are taken from the user's home.
Result<std::string> sandbox_path(std::string_view path) {
  if (path.empty()) return std::string(kHome);
  std::string full = path.front() == '/' ? std::string(path) : std::string(kHome) + "/" + std::string(path);
  if (full.find('\0') != std::string::npos || full.find("/../") != std::string::npos ||
      full.ends_with("/..")) {
    return fail(ErrorCode::kInvalidArgument, "the path must not contain '..'");
  }
  return full;
}

std::string base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// A file name safe inside a quoted header parameter.
std::string header_safe(std::string name) {
  for (char& c : name) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  }
  return name;
}

std::int64_t size_of(const json::object& entry) {
  const json::value* size = entry.if_contains("size");
  if (size == nullptr) return 0;
  if (size->is_int64()) return size->get_int64();
  if (size->is_uint64()) return static_cast<std::int64_t>(size->get_uint64());
  if (size->is_string()) {
    std::int64_t value = 0;
    std::string_view text = size->get_string();
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  }
  return 0;
}

// A checked path in the user's sandbox (created on demand).
struct SandboxFile {
  std::string path;
  SandboxAccess access;
};

asio::awaitable<Result<SandboxFile>> locate(UserSandboxes& sandboxes, std::string user,
                                            Result<std::string> path) {
  if (!path) co_return tl::unexpected(path.error());
  auto access = co_await sandboxes.acquire(user);
  if (!access) co_return tl::unexpected(access.error());
  co_return SandboxFile{std::move(*path), std::move(*access)};
}

Result<std::string> required_path(const http::Request& request) {
  auto raw = request.query_value("path");
  if (!raw) return fail(ErrorCode::kInvalidArgument, "`path` is required");
  return sandbox_path(*raw);
}

// envd's /files URL for a path, acting as the sandbox's user.
std::string envd_files_target(std::string_view path) {
  return "/files?path=" + url_encode(path) + "&username=" + std::string(kUser);
}

// Connect's ListDir of the file's directory, one level deep, as the sandbox's user.
http::ClientRequest list_dir_request(const SandboxFile& file) {
  http::ClientRequest call = UserSandboxes::agent_request(
      file.access, "POST", "/filesystem.Filesystem/ListDir", agent_protocol::kEnvdPort);
  call.headers.add("Content-Type", "application/json");
  call.headers.add("Connect-Protocol-Version", "1");
  call.headers.add("Authorization", "Basic " + base64_encode(std::string(kUser) + ":"));
  json::object rpc{{"path", file.path}, {"depth", 1}};
  call.body = json::serialize(rpc);
  return call;
}

// ListDir's answer as the page's entries: name, path, type (file or dir), size, modifiedTime.
json::array listed_entries(std::string_view text) {
  auto parsed = chat::parse_data_object(text);
  json::array entries;
  const json::array* listed = parsed ? array_field(*parsed, "entries") : nullptr;
  if (listed == nullptr) return entries;
  for (const json::value& value : *listed) {
    const json::object* entry = value.if_object();
    if (entry == nullptr) continue;
    bool is_dir = string_field(*entry, "type") == "FILE_TYPE_DIRECTORY";
    entries.push_back(json::object{{"name", string_field(*entry, "name")},
                                   {"path", string_field(*entry, "path")},
                                   {"type", is_dir ? "dir" : "file"},
                                   {"size", size_of(*entry)},
                                   {"modifiedTime", string_field(*entry, "modifiedTime")}});
  }
  return entries;
}

// A download's head: the bytes as an attachment named after the file.
http::Headers attachment_headers(std::string_view path) {
  http::Headers headers;
  headers.add("Content-Type", "application/octet-stream");
  headers.add("Content-Disposition", "attachment; filename=\"" + header_safe(base_name(path)) +
                                         "\"; filename*=UTF-8''" + url_encode(base_name(path)));
  headers.add("X-Content-Type-Options", "nosniff");
  return headers;
}

// Streams the sandbox's answer to the client, sized when the sandbox said how long it is.
asio::awaitable<void> relay_body(http::ClientResponse& from, http::Headers headers,
                                 http::ResponseWriter& writer) {
  std::uint64_t length = 0;
  auto declared = from.headers().get("Content-Length");
  bool sized =
      declared &&
      std::from_chars(declared->data(), declared->data() + declared->size(), length).ec == std::errc();
  bool started = false;
  if (sized) {
    started = co_await writer.begin_sized(200, std::move(headers), length);
  } else {
    started = co_await writer.begin_stream(200, std::move(headers));
  }
  std::array<char, 64 * 1024> buffer{};
  while (started) {
    auto read = co_await from.read_some(buffer);
    if (!read) {
      writer.abort();  // the client must not take a cut file for a whole one
      co_return;
    }
    if (*read == 0) break;
    const std::string_view bytes(buffer.data(), *read);
    bool written = co_await writer.write_chunk(bytes);
    if (!written) co_return;
  }
  if (started) co_await writer.end_stream();
}

}  // namespace

asio::awaitable<void> FileRoutes::list_files(const Principal& who, const http::Request& request,
                                             http::ResponseWriter& writer) {
  auto path = sandbox_path(request.query_value("path").value_or(kHome));
  auto file = co_await locate(sandboxes_, who.user, std::move(path));
  if (!file) {
    co_await writer.send(http::error_response(file.error()));
    co_return;
  }
  http::ClientOptions options = UserSandboxes::agent_options(file->access);
  http::ClientRequest call = list_dir_request(*file);
  auto response = co_await http::fetch(std::move(call), options);
  if (!response) {
    co_await writer.send(http::error_response(response.error()));
    co_return;
  }
  auto text = co_await (*response)->read_all(16 * 1024 * 1024);
  if (!text) {
    co_await writer.send(http::error_response(text.error()));
    co_return;
  }
  if ((*response)->status() != 200) {
    co_await writer.send(http::error_response(sandbox::agent_error((*response)->status(), *text)));
    co_return;
  }
  json::object answer{{"path", file->path}, {"entries", listed_entries(*text)}};
  co_await writer.send(http::json_response(200, json::serialize(answer)));
}

asio::awaitable<void> FileRoutes::upload_file(const Principal& who, http::Request& request,
                                              http::BodyReader& body, http::ResponseWriter& writer) {
  auto path = required_path(request);
  if (path && (path->ends_with("/") || base_name(*path).empty())) {
    path = fail(ErrorCode::kInvalidArgument, "`path` must name a file");
  }
  auto file = co_await locate(sandboxes_, who.user, std::move(path));
  if (!file) {
    co_await writer.send(http::error_response(file.error()));
    co_return;
  }
  const SandboxAccess* access = &file->access;
  // The body streams straight into the sandbox, which writes it into the file as it arrives.
  request.method = "POST";
  request.target = envd_files_target(file->path);
  request.headers.set("Content-Type", "application/octet-stream");
  http::ForwardOptions options;
  options.add_headers.add(std::string(agent_protocol::kPortHeader),
                          std::to_string(agent_protocol::kEnvdPort));
  options.add_headers.add(std::string(agent_protocol::kAccessTokenHeader), access->route.access_token);
  options.remove_headers = {"Cookie", "X-API-KEY", "Origin", "Referer"};
  options.abort = access->route.abort;
  http::Upstream upstream;
  upstream.unix_path = access->route.socket_path;
  Status forwarded = co_await http::forward(request, body, writer, upstream, options);
  if (!forwarded && !writer.started()) co_await writer.send(http::error_response(forwarded.error()));
}

asio::awaitable<void> FileRoutes::download_file(const Principal& who, const http::Request& request,
                                                http::ResponseWriter& writer) {
  auto path = required_path(request);
  auto file = co_await locate(sandboxes_, who.user, std::move(path));
  if (!file) {
    co_await writer.send(http::error_response(file.error()));
    co_return;
  }
  const SandboxAccess* access = &file->access;
  http::ClientRequest call =
      UserSandboxes::agent_request(*access, "GET", envd_files_target(file->path), agent_protocol::kEnvdPort);
  http::ClientOptions options = UserSandboxes::agent_options(*access);
  options.abort = access->route.abort;
  auto response = co_await http::fetch(std::move(call), options);
  if (!response) {
    co_await writer.send(http::error_response(response.error()));
    co_return;
  }
  if ((*response)->status() != 200) {
    auto text = co_await (*response)->read_all(64 * 1024);
    std::string detail = text ? *text : std::string();
    co_await writer.send(http::error_response(sandbox::agent_error((*response)->status(), detail)));
    co_return;
  }
  http::Headers headers = attachment_headers(file->path);
  co_await relay_body(**response, std::move(headers), writer);
}

}  // namespace cellblock::app
