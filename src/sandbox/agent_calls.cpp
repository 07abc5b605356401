#include "sandbox/agent_calls.h"

#include <charconv>

#include <boost/json.hpp>

#include "common/agent_protocol.h"
#include "common/encoding.h"
#include "common/json_fields.h"

namespace cellblock::sandbox {
namespace {

namespace json = boost::json;
constexpr std::size_t kErrorBodyLimit = 64 * 1024;
constexpr std::size_t kListingLimit = 16 * 1024 * 1024;

// envd's /files URL for a path, acting as `user`.
std::string files_target(std::string_view path, std::string_view user) {
  return "/files?path=" + percent_encode(path) + "&username=" + percent_encode(user);
}

// A non-2xx answer as an error, with as much of its body as explains it.
boost::asio::awaitable<Error> refusal(http::ClientResponse& response) {
  auto text = co_await response.read_all(kErrorBodyLimit);
  co_return agent_error(response.status(), text ? *text : std::string());
}

std::int64_t size_of(const json::object& entry) {
  const json::value* size = entry.if_contains("size");
  if (size == nullptr) return 0;
  if (size->is_int64()) return size->get_int64();
  if (size->is_uint64()) return static_cast<std::int64_t>(size->get_uint64());
  std::int64_t value = 0;
  if (size->is_string()) {  // protobuf's JSON mapping writes 64-bit integers as strings
    std::string_view text = size->get_string();
    std::from_chars(text.data(), text.data() + text.size(), value);
  }
  return value;
}

std::vector<DirEntry> entries_of(const json::value& reply) {
  std::vector<DirEntry> entries;
  const json::object* object = reply.if_object();
  const json::value* listed = object ? object->if_contains("entries") : nullptr;
  if (listed == nullptr || !listed->is_array()) return entries;
  for (const json::value& value : listed->get_array()) {
    const json::object* entry = value.if_object();
    if (entry == nullptr) continue;
    entries.push_back(DirEntry{std::string(string_field(*entry, "name")),
                               std::string(string_field(*entry, "path")),
                               string_field(*entry, "type") == "FILE_TYPE_DIRECTORY", size_of(*entry),
                               std::string(string_field(*entry, "modifiedTime"))});
  }
  return entries;
}

}  // namespace

boost::asio::awaitable<Result<std::optional<std::string>>> ExecuteStream::next_line() {
  for (;;) {
    if (auto end = pending_.find('\n'); end != std::string::npos) {
      std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      co_return std::optional<std::string>(std::move(line));
    }
    if (pending_.size() > kLineLimit) {
      co_return fail(ErrorCode::kPayloadTooLarge, "the sandbox sent an output line larger than 64 MiB");
    }
    auto read = co_await response_->read_some(buffer_);
    if (!read || *read == 0) co_return std::optional<std::string>();
    pending_.append(buffer_.data(), *read);
  }
}

boost::asio::awaitable<Result<ExecuteStream>> execute(AgentEndpoint endpoint, ExecuteCall call,
                                                      std::shared_ptr<AbortHandle> cut) {
  http::ClientRequest request = agent_request(endpoint, "POST", "/execute", agent_protocol::kInterpreterPort);
  request.headers.add("Content-Type", "application/json");
  json::object body{{"code", std::move(call.code)}};
  if (call.context_id.empty()) {
    body["language"] = std::move(call.language);
  } else {
    body["context_id"] = std::move(call.context_id);
  }
  request.body = json::serialize(body);
  http::ClientOptions options = agent_options(endpoint);  // a cell may run for long
  options.abort = std::move(cut);
  auto response = co_await http::fetch(std::move(request), options);
  if (!response) co_return tl::unexpected(response.error());
  if ((*response)->status() != 200) co_return tl::unexpected(co_await refusal(**response));
  co_return ExecuteStream(std::move(*response));
}

boost::asio::awaitable<Result<std::vector<DirEntry>>> list_dir(AgentEndpoint endpoint, std::string path,
                                                               std::string user) {
  http::ClientRequest request =
      agent_request(endpoint, "POST", "/filesystem.Filesystem/ListDir", agent_protocol::kEnvdPort);
  request.headers.add("Content-Type", "application/json");
  request.headers.add("Connect-Protocol-Version", "1");
  request.headers.add("Authorization", "Basic " + base64_encode(user + ":"));
  json::object rpc{{"path", std::move(path)}, {"depth", 1}};
  request.body = json::serialize(rpc);
  auto response = co_await http::fetch(std::move(request), agent_options(endpoint, std::chrono::seconds(60)));
  if (!response) co_return tl::unexpected(response.error());
  auto text = co_await (*response)->read_all(kListingLimit);
  if (!text) co_return tl::unexpected(text.error());
  if ((*response)->status() != 200) co_return tl::unexpected(agent_error((*response)->status(), *text));
  boost::system::error_code ec;
  json::value reply = json::parse(*text, ec);
  if (ec) co_return fail(ErrorCode::kInternal, "the sandbox's directory listing is not JSON");
  co_return entries_of(reply);
}

boost::asio::awaitable<Result<std::unique_ptr<http::ClientResponse>>> download(
    AgentEndpoint endpoint, std::string path, std::string user, std::shared_ptr<AbortHandle> cut) {
  http::ClientRequest request =
      agent_request(endpoint, "GET", files_target(path, user), agent_protocol::kEnvdPort);
  http::ClientOptions options = agent_options(endpoint);
  options.abort = std::move(cut);
  auto response = co_await http::fetch(std::move(request), options);
  if (!response) co_return tl::unexpected(response.error());
  if ((*response)->status() != 200) co_return tl::unexpected(co_await refusal(**response));
  co_return std::move(*response);
}

UploadTarget upload_target(const AgentEndpoint& endpoint, std::string_view path, std::string_view user,
                           std::shared_ptr<AbortHandle> cut) {
  UploadTarget upload;
  upload.target = files_target(path, user);
  upload.upstream.unix_path = endpoint.socket_path;
  upload.options.add_headers.add(std::string(agent_protocol::kPortHeader),
                                 std::to_string(agent_protocol::kEnvdPort));
  upload.options.add_headers.add(std::string(agent_protocol::kAccessTokenHeader), endpoint.access_token);
  upload.options.remove_headers = {"Cookie", "X-API-KEY", "Origin", "Referer"};
  upload.options.abort = std::move(cut);
  return upload;
}

}  // namespace cellblock::sandbox
