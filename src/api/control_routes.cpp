#include "api/control_routes.h"

#include <array>
#include <optional>

#include "common/encoding.h"

namespace cellblock::api {
namespace {

struct RouteSpec {
  std::string_view method;
  std::string_view pattern;  // "{}" matches one non-empty segment: the parameter
  Action action;
  bool v1 = false;
};

constexpr std::array kRoutes = {
    RouteSpec{"POST", "/v2/sandboxes", Action::kCreate},
    RouteSpec{"POST", "/sandboxes", Action::kCreate, true},
    RouteSpec{"GET", "/v2/sandboxes", Action::kList},
    RouteSpec{"GET", "/sandboxes", Action::kList, true},
    RouteSpec{"GET", "/sandboxes/{}", Action::kGet},
    RouteSpec{"DELETE", "/sandboxes/{}", Action::kKill},
    RouteSpec{"POST", "/sandboxes/{}/timeout", Action::kSetTimeout},
    RouteSpec{"PUT", "/sandboxes/{}/network", Action::kUpdateNetwork},
    RouteSpec{"POST", "/v2/sandboxes/{}/connect", Action::kConnect},
    RouteSpec{"POST", "/sandboxes/{}/connect", Action::kConnect, true},
    RouteSpec{"POST", "/sandboxes/{}/resume", Action::kResume},
    RouteSpec{"POST", "/sandboxes/{}/pause", Action::kPause},
    RouteSpec{"GET", "/sandboxes/{}/metrics", Action::kMetrics},
    RouteSpec{"GET", "/templates", Action::kListTemplates},
    RouteSpec{"GET", "/templates/aliases/{}", Action::kTemplateAlias},
    RouteSpec{"POST", "/sandboxes/{}/snapshots", Action::kSnapshot},
    RouteSpec{"GET", "/snapshots", Action::kListSnapshots},
    RouteSpec{"DELETE", "/templates/{}", Action::kDeleteTemplate},
};

// The raw parameter segment when `path` has the shape of `pattern`; nullopt otherwise.
std::optional<std::string_view> match_shape(std::string_view pattern, std::string_view path) {
  std::optional<std::string_view> param;
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return std::nullopt;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const std::string_view want = pattern.substr(0, pattern.find('/'));
    const std::string_view have = path.substr(0, path.find('/'));
    if (want == "{}") {
      if (have.empty()) return std::nullopt;
      param = have;
    } else if (want != have) {
      return std::nullopt;
    }
    pattern.remove_prefix(want.size());
    path.remove_prefix(have.size());
  }
  return param.value_or(std::string_view());
}

}  // namespace

Result<ControlRoute> match_route(std::string_view method, std::string_view raw_path) {
  bool path_known = false;
  for (const auto& route : kRoutes) {
    auto param = match_shape(route.pattern, raw_path);
    if (!param) continue;
    path_known = true;
    if (route.method != method) continue;
    auto decoded = percent_decode(*param);
    if (!decoded)
      return fail(ErrorCode::kInvalidArgument, "malformed percent-encoding in '" + std::string(*param) + "'");
    return ControlRoute{route.action, route.v1, std::move(*decoded)};
  }
  if (path_known) {
    return fail(ErrorCode::kMethodNotAllowed,
                "method " + std::string(method) + " is not allowed on " + std::string(raw_path));
  }
  return fail(ErrorCode::kNotFound, "no route for " + std::string(method) + " " + std::string(raw_path));
}

}  // namespace cellblock::api
