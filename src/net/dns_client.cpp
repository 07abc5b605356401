#include "net/dns_client.h"

#include <array>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/dns_message.h"
#include "net/egress_rules.h"

namespace cellblock::net {

namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

std::uint16_t random_id() {
  static thread_local std::mt19937 generator{std::random_device{}()};
  return static_cast<std::uint16_t>(generator());
}

// One UDP exchange: answers that are not ours (another id, a forgery) are dropped while the time lasts.
asio::awaitable<Result<std::vector<std::uint32_t>>> ask_udp(asio::ip::udp::socket& socket,
                                                            const asio::ip::udp::endpoint& server,
                                                            const std::string& name,
                                                            asio::steady_timer& limit) {
  const std::uint16_t id = random_id();
  auto query = build_a_query(id, name);
  if (!query) co_return tl::unexpected(query.error());
  auto [sent_ec, sent] = co_await socket.async_send_to(asio::buffer(*query), server, kUse);
  if (sent_ec) co_return fail(ErrorCode::kUnavailable, "sending to the resolver: " + sent_ec.message());
  std::array<char, 1500> buffer{};
  while (true) {
    asio::ip::udp::endpoint from;
    auto outcome =
        co_await (socket.async_receive_from(asio::buffer(buffer), from, kUse) || limit.async_wait(kUse));
    if (outcome.index() == 1) co_return fail(ErrorCode::kUnavailable, "no answer in time");
    auto [ec, n] = std::get<0>(outcome);
    if (ec) co_return fail(ErrorCode::kUnavailable, "receiving from the resolver: " + ec.message());
    if (from != server) continue;
    auto answers = parse_a_answers(std::string_view(buffer.data(), n), id, name);
    if (!answers && answers.error().code == kDnsNotOurAnswer) continue;
    co_return answers;
  }
}

asio::awaitable<Result<std::vector<std::uint32_t>>> ask_tcp(asio::any_io_executor executor,
                                                            const asio::ip::tcp::endpoint& server,
                                                            const std::string& name,
                                                            asio::steady_timer& limit) {
  asio::ip::tcp::socket socket(executor);
  const std::uint16_t id = random_id();
  auto query = build_tcp_query(id, name);
  if (!query) co_return tl::unexpected(query.error());
  auto exchange = [&]() -> asio::awaitable<Result<std::vector<std::uint32_t>>> {
    auto [connect_ec] = co_await socket.async_connect(server, kUse);
    if (connect_ec)
      co_return fail(ErrorCode::kUnavailable, "connecting to the resolver: " + connect_ec.message());
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(*query), kUse);
    if (write_ec) co_return fail(ErrorCode::kUnavailable, "writing to the resolver: " + write_ec.message());
    std::array<unsigned char, 2> length{};
    auto [length_ec, got] = co_await asio::async_read(socket, asio::buffer(length), kUse);
    if (length_ec)
      co_return fail(ErrorCode::kUnavailable, "reading from the resolver: " + length_ec.message());
    std::string answer(static_cast<std::size_t>(length[0]) << 8 | length[1], '\0');
    auto [answer_ec, size] = co_await asio::async_read(socket, asio::buffer(answer), kUse);
    if (answer_ec)
      co_return fail(ErrorCode::kUnavailable, "reading from the resolver: " + answer_ec.message());
    co_return parse_a_answers(answer, id, name);
  };
  auto outcome = co_await (exchange() || limit.async_wait(kUse));
  if (outcome.index() == 1) co_return fail(ErrorCode::kUnavailable, "no answer in time");
  co_return std::get<0>(std::move(outcome));
}

}  // namespace

asio::awaitable<Result<std::vector<std::uint32_t>>> resolve_ipv4(asio::any_io_executor executor,
                                                                 std::vector<std::uint32_t> resolvers,
                                                                 std::string name,
                                                                 std::chrono::milliseconds timeout) {
  Error last{ErrorCode::kUnavailable, "no resolver is configured for the sandboxes"};
  for (std::uint32_t resolver : resolvers) {
    const auto address = asio::ip::address_v4(resolver);
    asio::steady_timer limit(executor, timeout);
    asio::ip::udp::socket socket(executor);
    boost::system::error_code ec;
    socket.open(asio::ip::udp::v4(), ec);
    if (ec) co_return fail(ErrorCode::kUnavailable, "opening a socket for DNS: " + ec.message());
    // Named, not temporaries: g++ 12 mishandles temporaries inside a co_await expression.
    const asio::ip::udp::endpoint udp_server(address, 53);
    const asio::ip::tcp::endpoint tcp_server(address, 53);
    auto answers = co_await ask_udp(socket, udp_server, name, limit);
    if (!answers && answers.error().code == kDnsTruncated) {
      answers = co_await ask_tcp(executor, tcp_server, name, limit);
    }
    if (answers || answers.error().code == ErrorCode::kNotFound) co_return answers;
    last = Error{answers.error().code, format_ipv4(resolver) + ": " + answers.error().message};
  }
  co_return tl::unexpected(last);
}

}  // namespace cellblock::net
