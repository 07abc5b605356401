#include "http/exchange.h"

#include <boost/json.hpp>

#include "common/encoding.h"

namespace cellblock::http {

void Headers::set(std::string_view name, std::string value) {
  std::erase_if(items_, [&](const auto& item) { return iequals(item.first, name); });
  items_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::query_value(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw_query.empty()) {
    std::size_t amp = raw_query.find('&');
    std::string_view piece = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
    if (piece.empty()) continue;
    std::size_t eq = piece.find('=');
    std::string key(piece.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1));
    std::replace(key.begin(), key.end(), '+', ' ');
    std::replace(value.begin(), value.end(), '+', ' ');
    auto decoded_key = percent_decode(key);
    auto decoded_value = percent_decode(value);
    if (!decoded_key || !decoded_value) {
      return fail(ErrorCode::kInvalidArgument, "malformed percent-encoding in the query string");
    }
    out.emplace_back(std::move(*decoded_key), std::move(*decoded_value));
  }
  return out;
}

asio::awaitable<Result<std::string>> BodyReader::read_all(std::size_t limit) {
  if (auto declared = declared_length(); declared && *declared > limit) {
    co_return fail(ErrorCode::kPayloadTooLarge, "request body of " + std::to_string(*declared) +
                                                    " bytes exceeds the limit of " + std::to_string(limit) +
                                                    " bytes");
  }
  std::string body;
  char buffer[16384];
  for (;;) {
    auto n = co_await read_some(std::span<char>(buffer, sizeof buffer));
    if (!n) co_return tl::unexpected(n.error());
    if (*n == 0) break;
    if (body.size() + *n > limit) {
      co_return fail(ErrorCode::kPayloadTooLarge,
                     "request body exceeds the limit of " + std::to_string(limit) + " bytes");
    }
    body.append(buffer, *n);
  }
  co_return body;
}

asio::awaitable<bool> ResponseWriter::begin_sized(int status, Headers headers,
                                                  std::uint64_t /*content_length*/) {
  return begin_stream(status, std::move(headers));
}

asio::awaitable<Result<std::unique_ptr<RawStream>>> ResponseWriter::upgrade(
    Response /*switching_protocols*/) {
  co_return fail(ErrorCode::kUnimplemented, "this response writer cannot switch protocols");
}

Response json_response(int status, std::string body) {
  Response response;
  response.status = status;
  response.headers.add("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

Response text_response(int status, std::string body) {
  Response response;
  response.status = status;
  response.headers.add("Content-Type", "text/plain; charset=utf-8");
  response.body = std::move(body);
  return response;
}

Response error_response(const Error& error) {
  const int status = http_status(error.code);
  boost::json::object body;
  body["code"] = status;
  body["message"] = error.message;
  return json_response(status, boost::json::serialize(body));
}

Response error_response(ErrorCode code, std::string message) {
  return error_response(Error{code, std::move(message)});
}

Response sandbox_error_response(std::string_view sandbox_id, const Error& error) {
  const int status = http_status(error.code);
  boost::json::object body;
  body["sandboxId"] = sandbox_id;
  body["message"] = error.message;
  body["code"] = status;
  return json_response(status, boost::json::serialize(body));
}

}  // namespace cellblock::http
