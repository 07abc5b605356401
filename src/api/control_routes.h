#pragma once
// The control plane's route table: a request line becomes a typed route, or an error that says why not. Pure
// (no I/O): the table is unit tested on the spec's wire examples and on garbage. Matching is done on the raw
// path, so a percent-encoded name (`acme%2Fsnap%3Adefault`) stays one segment; it is decoded afterwards.

#include <string>
#include <string_view>

#include "common/error.h"

namespace cellblock::api {

enum class Action {
  kCreate,          // POST /v2/sandboxes, POST /sandboxes (v1)
  kList,            // GET /v2/sandboxes, GET /sandboxes (v1)
  kGet,             // GET /sandboxes/{id}
  kKill,            // DELETE /sandboxes/{id}
  kSetTimeout,      // POST /sandboxes/{id}/timeout
  kUpdateNetwork,   // PUT /sandboxes/{id}/network
  kConnect,         // POST /v2/sandboxes/{id}/connect, POST /sandboxes/{id}/connect (v1)
  kResume,          // POST /sandboxes/{id}/resume (deprecated)
  kPause,           // POST /sandboxes/{id}/pause
  kMetrics,         // GET /sandboxes/{id}/metrics
  kListTemplates,   // GET /templates
  kTemplateAlias,   // GET /templates/aliases/{alias}
  kSnapshot,        // POST /sandboxes/{id}/snapshots
  kListSnapshots,   // GET /snapshots
  kDeleteTemplate,  // DELETE /templates/{id}: a snapshot's template (SDK deleteSnapshot)
};

struct ControlRoute {
  Action action;
  bool v1 = false;    // the route of older SDKs (v1 create/list/connect)
  std::string param;  // the sandbox id, template alias or template id, percent-decoded; empty when none
};

// kNotFound for an unknown path, kMethodNotAllowed for a known path with another method, kInvalidArgument for
// a malformed escape in the parameter.
Result<ControlRoute> match_route(std::string_view method, std::string_view raw_path);

}  // namespace cellblock::api
