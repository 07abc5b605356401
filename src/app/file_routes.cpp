#include "app/file_routes.h"

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "common/encoding.h"
#include "http/proxy.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::string_view kHome = "/home/user";
constexpr std::string_view kUser = "user";

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

// The page's entries: name, path, type (file or dir), size, modifiedTime.
json::array listed_entries(const std::vector<sandbox::DirEntry>& listed) {
  json::array entries;
  for (const auto& entry : listed) {
    entries.push_back(json::object{{"name", entry.name},
                                   {"path", entry.path},
                                   {"type", entry.directory ? "dir" : "file"},
                                   {"size", entry.size},
                                   {"modifiedTime", entry.modified_time}});
  }
  return entries;
}

// A download's head: the bytes as an attachment named after the file.
http::Headers attachment_headers(std::string_view path) {
  http::Headers headers;
  headers.add("Content-Type", "application/octet-stream");
  headers.add("Content-Disposition", "attachment; filename=\"" + header_safe(base_name(path)) +
                                         "\"; filename*=UTF-8''" + percent_encode(base_name(path)));
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
  std::string user(kUser);
  auto listed = co_await sandbox::list_dir(file->access.route.endpoint(), file->path, std::move(user));
  if (!listed) {
    co_await writer.send(http::error_response(listed.error()));
    co_return;
  }
  json::object answer{{"path", file->path}, {"entries", listed_entries(*listed)}};
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
  // The body streams straight into the sandbox, which writes it into the file as it arrives.
  sandbox::UploadTarget upload =
      sandbox::upload_target(file->access.route.endpoint(), file->path, kUser, file->access.route.abort);
  request.method = "POST";
  request.target = std::move(upload.target);
  request.headers.set("Content-Type", "application/octet-stream");
  Status forwarded = co_await http::forward(request, body, writer, upload.upstream, upload.options);
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
  std::string user(kUser);
  auto response = co_await sandbox::download(file->access.route.endpoint(), file->path, std::move(user),
                                             file->access.route.abort);
  if (!response) {
    co_await writer.send(http::error_response(response.error()));
    co_return;
  }
  http::Headers headers = attachment_headers(file->path);
  co_await relay_body(**response, std::move(headers), writer);
}

}  // namespace cellblock::app
