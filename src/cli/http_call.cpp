#include "cli/http_call.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cellblock::cli {
namespace {

// Decodes a chunked body incrementally.
class ChunkDecoder {
 public:
  // Returns false once the last chunk has been seen.
  bool feed(std::string_view data, const std::function<void(std::string_view)>& out) {
    buffer_.append(data);
    for (;;) {
      if (remaining_ == 0) {
        auto eol = buffer_.find("\r\n");
        if (eol == std::string::npos) return true;
        if (eol == 0 && expect_crlf_) {  // CRLF after a chunk's data
          buffer_.erase(0, 2);
          expect_crlf_ = false;
          continue;
        }
        remaining_ = std::strtoull(buffer_.substr(0, eol).c_str(), nullptr, 16);
        buffer_.erase(0, eol + 2);
        if (remaining_ == 0) return false;
      }
      if (buffer_.empty()) return true;
      std::size_t take = std::min<std::size_t>(remaining_, buffer_.size());
      out(std::string_view(buffer_).substr(0, take));
      buffer_.erase(0, take);
      remaining_ -= take;
      if (remaining_ == 0) expect_crlf_ = true;
    }
  }

 private:
  std::string buffer_;
  std::uint64_t remaining_ = 0;
  bool expect_crlf_ = false;
};

}  // namespace

Result<HttpReply> http_call(const HttpCall& call) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(call.host.c_str(), std::to_string(call.port).c_str(), &hints, &found); rc != 0) {
    return fail(ErrorCode::kUnavailable, "cannot resolve " + call.host + ": " + gai_strerror(rc));
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int connected = fd >= 0 ? ::connect(fd, found->ai_addr, found->ai_addrlen) : -1;
  ::freeaddrinfo(found);
  if (connected != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return fail(ErrorCode::kUnavailable, "cannot reach cellblock serve at " + call.host + ":" +
                                             std::to_string(call.port) + " (" + std::strerror(err) +
                                             "): is it running?");
  }
  std::string request =
      call.method + " " + call.path + " HTTP/1.1\r\nHost: " + call.host + "\r\nConnection: close\r\n";
  for (const auto& [name, value] : call.headers) request += name + ": " + value + "\r\n";
  request += "Content-Length: " + std::to_string(call.body.size()) + "\r\n\r\n" + call.body;
  for (std::string_view rest = request; !rest.empty();) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return fail(ErrorCode::kUnavailable, "sending the request failed");
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }

  HttpReply reply;
  std::string head;
  bool in_body = false;
  bool chunked = false;
  ChunkDecoder decoder;
  auto deliver = [&](std::string_view piece) {
    if (call.on_body) {
      call.on_body(piece);
    } else {
      reply.body.append(piece);
    }
  };
  char buffer[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string_view data(buffer, static_cast<std::size_t>(n));
    if (!in_body) {
      head.append(data);
      auto end = head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      reply.status = std::atoi(head.c_str() + head.find(' ') + 1);
      std::string lower;
      for (char c : head.substr(0, end))
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      chunked = lower.find("transfer-encoding: chunked") != std::string::npos;
      data = std::string_view(head).substr(end + 4);
      in_body = true;
      std::string first(data);
      if (chunked ? !decoder.feed(first, deliver) : (deliver(first), false)) break;
      continue;
    }
    if (chunked && !decoder.feed(data, deliver)) break;
    if (!chunked) deliver(data);
  }
  ::close(fd);
  if (reply.status == 0) return fail(ErrorCode::kUnavailable, "no HTTP answer from the server");
  return reply;
}

}  // namespace cellblock::cli
