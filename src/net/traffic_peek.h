#pragma once
// The hostname a sandbox's outbound TCP connection is for, read from the first bytes the client sends (E2B's
// model, e2b-network.md §4 step 3): on port 80 the HTTP request's Host header, on port 443 the TLS
// ClientHello's server_name. The transparent egress proxy feeds these functions what it has read so far and
// decides with the answer (egress_rules.h `decide`); it forwards the same bytes, unchanged, to whatever it
// dials. kNoHostname and kNotThisProtocol leave the decision to the destination address, as E2B does for
// `https://1.1.1.1` without SNI or for SSH on port 443; a client that stops sending while the answer is
// kNeedMore is for the proxy's timeout to decide.
//
// Pure and I/O-free. The bytes come from the sandbox and are hostile: every length is bounds-checked, nothing
// is read past the bytes given, and the work is linear in the bytes however they arrive. A client may send
// its hello one byte per TCP segment; the proxy then keeps an HttpHostPeek or TlsSniPeek per connection,
// which looks at each byte once across calls. The free functions peek_http_host and peek_tls_sni answer for
// one buffer and suit tests and callers that have all the bytes at once.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellblock::net {

// A request head (request line, headers and the empty line) longer than this is not treated as HTTP.
inline constexpr std::size_t kHttpHeadLimit = 16 * 1024;
// The TLS records carrying a ClientHello (record headers included) must fit in this many bytes. Hellos with
// post-quantum key shares are ~1.8 KiB and with many extensions still far below.
inline constexpr std::size_t kClientHelloLimit = 64 * 1024;

enum class PeekStatus {
  kNeedMore,         // the bytes so far are a valid beginning: read more and ask again
  kFound,            // the protocol names a host: PeekResult::hostname
  kNoHostname,       // a well-formed request that names no host (HTTP without Host, TLS without SNI)
  kNotThisProtocol,  // not an HTTP/1.x request head, or not a TLS ClientHello, malformed, or over the cap
};

struct PeekResult {
  PeekStatus status = PeekStatus::kNeedMore;
  // kFound only: a hostname as normalize_hostname (hostname.h) gives it (lower-case, no trailing dot, no
  // port), which includes IPv4 literals; or, from an HTTP Host only, an IPv6 literal without its brackets
  // ("::1"). A hostname containing ':' is always an IPv6 literal.
  std::string hostname;
  // TLS only: the hello carries an encrypted_client_hello extension (0xfe0d). `hostname` is then the outer,
  // public name of the client-facing server, not the host the client really wants to reach; a domain
  // allowlist cannot be enforced on such a connection.
  bool encrypted_client_hello = false;
  // kNoHostname and kNotThisProtocol: why, for the proxy's log line (static text; never the client's bytes).
  std::string_view reason;
};

// Port 80: the host an HTTP/1.x request head names. Needs a request line (method token SP request-target SP
// "HTTP/1.<digit>" CRLF) and waits for the whole head (up to the empty line, CRLF line ends only); the first
// byte that cannot continue such a head gives kNotThisProtocol at once (a TLS hello, "PRI * HTTP/2.0",
// binary). The host comes from:
//   - an absolute-form target ("GET http://host:8080/ HTTP/1.1"): its authority, which wins over the Host
//     header as it does for the origin server (RFC 9112 §3.2.2); userinfo in it is refused;
//   - otherwise the Host header (name case-insensitive, surrounding spaces and tabs ignored); an empty Host
//     or none at all is kNoHostname.
// The port is dropped. More than one Host header, an obsolete line fold, control characters, or a host that
// is not a hostname, IPv4 or bracketed IPv6 literal (zone ids included) are kNotThisProtocol.
//
// One object per connection. Each call passes every byte received so far: the bytes of the previous call
// followed by the new ones. Once the answer is not kNeedMore it stays the same.
class HttpHostPeek {
 public:
  PeekResult peek(std::string_view bytes);

 private:
  enum class State : std::uint8_t {
    kMethod,
    kTarget,
    kVersion,    // "HTTP/1.<digit>" CRLF, byte by byte
    kLineStart,  // a header name, or the CR of the empty line
    kName,
    kValue,
    kLineEnd,  // the LF after a header line's CR
    kHeadEnd,  // the LF of the empty line
  };
  PeekResult settle(PeekResult result);
  PeekResult host_of_head(std::string_view head) const;

  State state_ = State::kMethod;
  std::size_t scanned_ = 0;  // bytes already looked at
  std::size_t version_matched_ = 0;
  std::size_t target_begin_ = 0;
  std::size_t target_end_ = 0;
  std::size_t name_begin_ = 0;
  std::size_t value_begin_ = 0;
  std::size_t value_end_ = 0;
  bool host_seen_ = false;
  std::size_t host_begin_ = 0;
  std::size_t host_end_ = 0;
  std::optional<PeekResult> verdict_;
};

// Port 443: the server_name of a TLS ClientHello. Reads TLS handshake records (record versions 0x0300-0x0304:
// TLS 1.2 clients may say SSL 3.0 there) and reassembles the ClientHello from as many records as it spans;
// waits (kNeedMore) until it is complete. Bytes after the ClientHello are ignored. The server_name extension
// must hold exactly one host_name (as OpenSSL and BoringSSL require); without it the result is kNoHostname.
// Duplicate extensions, lengths that disagree, another content type before the hello is complete, an
// SSLv2-style hello, or a hello over kClientHelloLimit are kNotThisProtocol.
//
// One object per connection, called like HttpHostPeek: every byte so far each time, the answer sticks.
class TlsSniPeek {
 public:
  PeekResult peek(std::string_view bytes);

 private:
  PeekResult settle(PeekResult result);

  std::size_t next_record_ = 0;  // offset of the first record whose payload is not in joined_ yet
  std::string joined_;           // the handshake payloads of the complete records before next_record_
  std::optional<PeekResult> verdict_;
};

// One-shot forms: a fresh peek over `bytes`.
PeekResult peek_http_host(std::string_view bytes);
PeekResult peek_tls_sni(std::string_view bytes);

}  // namespace cellblock::net
