#pragma once
// E2B's response shapes for the control plane (e2b-api.md §3): built from records, nothing else.

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "sandbox/sandbox_manager.h"
#include "store/sandbox_store.h"

namespace cellblock::api {

inline constexpr std::string_view kEnvdVersion = "0.6.13";

// `Sandbox`: the create and connect answers. An empty domain is null (the SDK then uses its own).
boost::json::object sandbox_json(const store::SandboxRecord& record, const std::string& domain);
// `ListedSandbox`: one item of a listing.
boost::json::object listed_json(const store::SandboxRecord& record);
// `SandboxDetail`: GET /sandboxes/{id}.
boost::json::object detail_json(const store::SandboxRecord& record, const std::string& domain);
boost::json::array metrics_json(const std::vector<sandbox::Metric>& samples);
boost::json::array templates_json(const std::vector<sandbox::TemplateEntry>& templates);
// `SnapshotInfo`: {snapshotID, names}.
boost::json::object snapshot_json(const store::SnapshotRecord& snapshot);

}  // namespace cellblock::api
