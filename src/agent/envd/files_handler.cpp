#include "agent/envd/files_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <map>
#include <memory>
#include <set>

#include <boost/json.hpp>

#include "agent/envd/upload_sink.h"
#include "agent/fs/path_resolve.h"
#include "agent/fs/xattr_metadata.h"
#include "http/codec/gzip.h"
#include "http/codec/multipart.h"

namespace cellblock::agent {
namespace {

namespace json = boost::json;
using http::asio::awaitable;

std::optional<std::string> username_of(const http::Request& request) {
  if (auto name = request.query_value("username"); name && !name->empty()) return std::string(*name);
  return std::nullopt;
}

std::int64_t unix_now() {
  return static_cast<std::int64_t>(::time(nullptr));
}

std::string_view content_type_for(std::string_view path) {
  struct Entry {
    std::string_view extension;
    std::string_view type;
  };
  static constexpr std::array<Entry, 16> kTypes{{
      {".txt", "text/plain; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".json", "application/json"},
      {".html", "text/html; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".py", "text/x-python; charset=utf-8"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".svg", "image/svg+xml"},
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
      {".gz", "application/gzip"},
      {".js", "text/javascript; charset=utf-8"},
      {".xml", "application/xml"},
  }};
  for (const auto& entry : kTypes) {
    if (path.size() > entry.extension.size() && path.ends_with(entry.extension)) return entry.type;
  }
  return "application/octet-stream";
}

// X-Metadata-<key>: <value> headers (envd ≥ 0.6.2): keys lower-cased, values printable ASCII.
Result<std::map<std::string, std::string>> metadata_from_headers(const http::Headers& headers) {
  constexpr std::string_view kPrefix = "x-metadata-";
  std::map<std::string, std::string> metadata;
  for (const auto& [name, value] : headers.items()) {
    if (name.size() <= kPrefix.size() ||
        !http::iequals(std::string_view(name).substr(0, kPrefix.size()), kPrefix)) {
      continue;
    }
    std::string key;
    for (char c : name.substr(kPrefix.size()))
      key += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) {
        return fail(ErrorCode::kInvalidArgument, "metadata '" + key + "' must be printable ASCII");
      }
    }
    metadata[key] = value;
  }
  return metadata;
}

json::object written_entry(const std::string& path, const std::map<std::string, std::string>& metadata) {
  json::object entry;
  entry["path"] = path;
  entry["name"] = base_name(path);
  entry["type"] = "file";
  if (!metadata.empty()) {
    json::object meta;
    for (const auto& [key, value] : metadata) meta[key] = value;
    entry["metadata"] = std::move(meta);
  }
  return entry;
}

// Receives multipart parts named "file" and streams each into its destination as it arrives (as envd).
class MultipartUpload final : public http::MultipartCallbacks {
 public:
  MultipartUpload(const UserSpec& user, std::optional<std::string> path_override,
                  const std::map<std::string, std::string>& metadata, std::uint64_t max_bytes)
      : user_(user), path_override_(std::move(path_override)), metadata_(metadata), max_bytes_(max_bytes) {}

  Status on_part_begin(const http::PartHeaders& headers) override {
    if (headers.name != "file") return {};  // other form fields are ignored
    std::string requested = path_override_.value_or(headers.filename.value_or(""));
    if (requested.empty())
      return fail(ErrorCode::kInvalidArgument, "a 'file' part needs a filename or ?path=");
    auto destination = resolve_path(requested, user_);
    if (!destination) return tl::unexpected(destination.error());
    if (!targets_.insert(*destination).second) {
      return fail(ErrorCode::kInvalidArgument, "two parts target the same path '" + *destination + "'");
    }
    current_ = std::make_unique<UploadSink>();
    return current_->open(*destination, user_);
  }

  Status on_part_data(std::string_view bytes) override {
    if (!current_) return {};
    total_ += bytes.size();
    if (total_ > max_bytes_) return fail(ErrorCode::kPayloadTooLarge, "upload exceeds the size limit");
    return current_->write(bytes);
  }

  Status on_part_end() override {
    if (!current_) return {};
    auto sink = std::move(current_);
    if (auto finished = sink->finish(metadata_); !finished) return finished;
    written_.push_back(written_entry(sink->destination(), metadata_));
    return {};
  }

  const json::array& written() const { return written_; }

 private:
  const UserSpec& user_;
  std::optional<std::string> path_override_;
  const std::map<std::string, std::string>& metadata_;
  std::uint64_t max_bytes_;
  std::uint64_t total_ = 0;
  std::set<std::string> targets_;
  std::unique_ptr<UploadSink> current_;
  json::array written_;
};

// Feeds the whole request body to `consume` in pieces.
template <class Consume>
awaitable<Status> pump_body(http::BodyReader& body, Consume consume) {
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    auto n = co_await body.read_some(std::span<char>(buffer));
    if (!n) co_return tl::unexpected(n.error());
    if (*n == 0) co_return Status{};
    if (auto ok = consume(std::string_view(buffer.data(), *n)); !ok) co_return ok;
  }
}

}  // namespace

FilesHandler::FilesHandler(const AccessPolicy& access, const AgentUsers& users, FilesLimits limits)
    : access_(access), users_(users), limits_(limits) {}

awaitable<void> FilesHandler::download(http::Request& request, http::ResponseWriter& writer) {
  auto fail_with = [&](http::Response response) -> awaitable<void> {
    co_await writer.send(std::move(response));
  };
  if (auto allowed = access_.check_file_access(request, "read", unix_now()); !allowed) {
    co_return co_await fail_with(http::error_response(allowed.error()));
  }
  auto path = request.query_value("path");
  if (!path || path->empty())
    co_return co_await fail_with(
        http::error_response(ErrorCode::kInvalidArgument, "query 'path' is required"));
  auto user = resolve_user(users_, username_of(request));
  if (!user) co_return co_await fail_with(http::error_response(user.error()));
  auto resolved = resolve_path(*path, *user);
  if (!resolved) co_return co_await fail_with(http::error_response(resolved.error()));

  int fd = ::open(resolved->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      co_return co_await fail_with(
          http::error_response(ErrorCode::kNotFound, "path '" + *resolved + "' does not exist"));
    }
    co_return co_await fail_with(http::error_response(system_error("open " + *resolved, errno)));
  }
  struct stat st {};
  ::fstat(fd, &st);
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    co_return co_await fail_with(
        http::error_response(ErrorCode::kInvalidArgument, "path '" + *resolved + "' is a directory"));
  }
  http::Headers headers;
  headers.add("Content-Type", std::string(content_type_for(*resolved)));
  headers.add("Content-Disposition", "inline; filename=\"" + std::string(base_name(*resolved)) + "\"");
  co_await writer.send_file(200, std::move(headers), fd, static_cast<std::uint64_t>(st.st_size));
  ::close(fd);
}

awaitable<void> FilesHandler::upload(http::Request& request, http::BodyReader& body,
                                     http::ResponseWriter& writer) {
  auto fail_with = [&](http::Response response) -> awaitable<void> {
    co_await writer.send(std::move(response));
  };
  if (auto allowed = access_.check_file_access(request, "write", unix_now()); !allowed) {
    co_return co_await fail_with(http::error_response(allowed.error()));
  }
  auto user = resolve_user(users_, username_of(request));
  if (!user) co_return co_await fail_with(http::error_response(user.error()));
  auto metadata = metadata_from_headers(request.headers);
  if (!metadata) co_return co_await fail_with(http::error_response(metadata.error()));
  std::optional<std::string> path;
  if (auto p = request.query_value("path"); p && !p->empty()) path = std::string(*p);

  const std::string content_type(request.header("Content-Type").value_or(""));
  const std::string encoding(request.header("Content-Encoding").value_or("identity"));
  const bool gzipped = http::iequals(encoding, "gzip");
  if (!gzipped && !http::iequals(encoding, "identity")) {
    co_return co_await fail_with(http::error_response(ErrorCode::kUnsupportedMedia,
                                                      "unsupported Content-Encoding '" + encoding + "'"));
  }
  http::GzipInflater inflater(limits_.max_upload_bytes);

  if (content_type.starts_with("multipart/form-data")) {
    auto boundary = http::boundary_from_content_type(content_type);
    if (!boundary) co_return co_await fail_with(http::error_response(boundary.error()));
    MultipartUpload upload(*user, path, *metadata, limits_.max_upload_bytes);
    http::MultipartParser parser(*boundary);
    auto feed = [&](std::string_view bytes) { return parser.feed(bytes, upload); };
    Status status = co_await pump_body(
        body, [&](std::string_view bytes) { return gzipped ? inflater.feed(bytes, feed) : feed(bytes); });
    if (status && gzipped) status = inflater.finish();
    if (status) status = parser.finish();
    if (!status) co_return co_await fail_with(http::error_response(status.error()));
    if (upload.written().empty())
      co_return co_await fail_with(
          http::error_response(ErrorCode::kInvalidArgument, "no part named 'file' in the upload"));
    co_await writer.send(http::json_response(200, json::serialize(upload.written())));
    co_return;
  }

  if (!content_type.empty() && !content_type.starts_with("application/octet-stream")) {
    co_return co_await fail_with(http::error_response(
        ErrorCode::kUnsupportedMedia, "unsupported Content-Type '" + content_type +
                                          "': use multipart/form-data or application/octet-stream"));
  }
  if (!path)
    co_return co_await fail_with(http::error_response(ErrorCode::kInvalidArgument,
                                                      "query 'path' is required for octet-stream uploads"));
  auto destination = resolve_path(*path, *user);
  if (!destination) co_return co_await fail_with(http::error_response(destination.error()));
  UploadSink sink;
  if (auto opened = sink.open(*destination, *user); !opened)
    co_return co_await fail_with(http::error_response(opened.error()));
  auto write = [&](std::string_view bytes) -> Status {
    if (sink.bytes_written() + bytes.size() > limits_.max_upload_bytes) {
      return fail(ErrorCode::kPayloadTooLarge, "upload exceeds the size limit");
    }
    return sink.write(bytes);
  };
  Status status = co_await pump_body(
      body, [&](std::string_view bytes) { return gzipped ? inflater.feed(bytes, write) : write(bytes); });
  if (status && gzipped) status = inflater.finish();
  if (status) status = sink.finish(*metadata);
  if (!status) co_return co_await fail_with(http::error_response(status.error()));
  json::array written;
  written.push_back(written_entry(*destination, *metadata));
  co_await writer.send(http::json_response(200, json::serialize(written)));
}

}  // namespace cellblock::agent
