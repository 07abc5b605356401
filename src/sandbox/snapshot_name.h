#pragma once
// Names of persistent snapshots, as E2B writes them: `[<namespace>/]<alias>[:<tag>]`. This server has one
// team, whose namespace is kTeamSlug: a snapshot named "snap" is "cellblock/snap:default" to clients, and an
// unnamed one is "<template id>:default".

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "store/snapshot_store.h"

namespace cellblock::sandbox {

inline constexpr std::string_view kTeamSlug = "cellblock";
inline constexpr std::string_view kDefaultTag = "default";

struct SnapshotName {
  std::string alias;
  std::string tag{kDefaultTag};
};

// A name for a new snapshot: trimmed and lower-cased; alias (and namespace) of [a-z0-9-_], tag of
// [a-z0-9-_.]; a namespace must be ours. kInvalidArgument with E2B's wording otherwise.
Result<SnapshotName> parse_snapshot_name(std::string_view text);

// A reference to an existing template or snapshot: a name or template id with an optional tag. Empty when it
// names another team's namespace or is malformed (nothing of ours can match it).
struct TemplateRef {
  std::string name;
  std::optional<std::string> tag;
};
std::optional<TemplateRef> parse_template_ref(std::string_view text);

// What clients see of a snapshot: its id and names (E2B's SnapshotInfo).
std::string snapshot_id(const store::SnapshotRecord& snapshot);
std::vector<std::string> snapshot_names(const store::SnapshotRecord& snapshot);

}  // namespace cellblock::sandbox
