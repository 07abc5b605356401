#pragma once
// The control plane's request bodies and queries, parsed into typed commands. Pure: every function is unit
// tested on the spec's wire examples and on garbage, and answers bad input with kInvalidArgument naming the
// field.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/error.h"
#include "http/exchange.h"
#include "net/egress_rules.h"
#include "sandbox/sandbox_manager.h"
#include "store/sandbox_store.h"

namespace cellblock::api {

// POST /v2/sandboxes (and v1 /sandboxes, which always sends a timeout: 300 when absent).
Result<sandbox::CreateCommand> parse_create(std::string_view body, bool v1);

struct ConnectRequest {
  std::optional<std::int64_t> timeout_seconds;
  bool keep_memory = true;  // "memory": false asks for a reboot from disk
};
// POST /v2/sandboxes/{id}/connect, /sandboxes/{id}/connect and the deprecated /resume (empty body allowed).
Result<ConnectRequest> parse_connect(std::string_view body);

struct PauseRequest {
  bool keep_memory = true;
};
// POST /sandboxes/{id}/pause: {} or {"memory": bool}; no body at all is accepted too.
Result<PauseRequest> parse_pause(std::string_view body);

// POST /sandboxes/{id}/timeout: {"timeout": seconds}.
Result<std::int64_t> parse_set_timeout(std::string_view body);
// PUT /sandboxes/{id}/network: the whole new egress configuration (e2b-network.md §5).
Result<net::NetworkUpdate> parse_update_network(std::string_view body);

// POST /sandboxes/{id}/snapshots: {} or {"name": "[<namespace>/]<alias>[:<tag>]"}.
Result<std::optional<sandbox::SnapshotName>> parse_create_snapshot(std::string_view body);

// GET /snapshots: sandboxID, name ([<namespace>/]<name or id>[:<tag>]), limit (1-100), nextToken.
Result<store::SnapshotQuery> parse_snapshot_query(const http::Request& request);

// GET /v2/sandboxes: metadata, state, startedAfter, template, order, limit, nextToken (v1: no paging token).
Result<store::ListQuery> parse_list_query(const http::Request& request, bool v1);

struct MetricsRange {
  std::optional<std::int64_t> start_unix;
  std::optional<std::int64_t> end_unix;
};
// GET /sandboxes/{id}/metrics?start=&end= (unix seconds).
Result<MetricsRange> parse_metrics_query(const http::Request& request);

// "2026-01-02T03:04:05[.fff…](Z|±hh:mm)" → unix ns.
Result<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace cellblock::api
