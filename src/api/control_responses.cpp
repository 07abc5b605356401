#include "api/control_responses.h"

#include "common/encoding.h"
#include "common/file_signature.h"
#include "net/egress_rules.h"

namespace cellblock::api {
namespace {

namespace json = boost::json;

json::value nullable(const std::string& text) {
  return text.empty() ? json::value(nullptr) : json::value(text);
}

json::object metadata_json(const std::map<std::string, std::string>& metadata) {
  json::object out;
  for (const auto& [key, value] : metadata) out[key] = value;
  return out;
}

}  // namespace

json::object sandbox_json(const store::SandboxRecord& record, const std::string& domain) {
  json::object out;
  out["sandboxID"] = record.id;
  out["templateID"] = record.template_id;
  if (!record.alias.empty()) out["alias"] = record.alias;
  out["clientID"] = record.client_id;
  out["envdVersion"] = kEnvdVersion;
  out["envdAccessToken"] = record.envd_access_token;
  out["trafficAccessToken"] = nullptr;
  if (!record.network.empty()) {
    auto network = net::from_json(record.network);
    if (network && !network->ingress.allow_public_traffic) {
      out["trafficAccessToken"] = traffic_access_token(record.id, record.envd_access_token);
    }
  }
  out["domain"] = nullable(domain);
  return out;
}

json::object listed_json(const store::SandboxRecord& record) {
  json::object item;
  item["sandboxID"] = record.id;
  item["templateID"] = record.template_id;
  if (!record.alias.empty()) item["alias"] = record.alias;
  item["clientID"] = record.client_id;
  item["cpuCount"] = record.cpu_count;
  item["memoryMB"] = record.memory_mb;
  item["diskSizeMB"] = record.disk_size_mb;
  item["startedAt"] = rfc3339(record.started_at);
  item["endAt"] = rfc3339(record.end_at);
  item["envdVersion"] = kEnvdVersion;
  item["state"] = store::to_string(record.state);
  item["metadata"] = metadata_json(record.metadata);
  return item;
}

json::object detail_json(const store::SandboxRecord& record, const std::string& domain) {
  json::object detail = listed_json(record);
  detail["envdAccessToken"] = record.envd_access_token;
  // E2B answers a paused sandbox's detail with a null domain.
  detail["domain"] = record.state == store::SandboxState::kPaused ? json::value(nullptr) : nullable(domain);
  // As given at create or by the last update that carried it; null when never given (E2B).
  detail["allowInternetAccess"] = nullptr;
  if (!record.network.empty()) {
    if (auto network = net::from_json(record.network)) {
      if (network->allow_internet_access) detail["allowInternetAccess"] = *network->allow_internet_access;
      detail["network"] = net::network_info_json(*network);
    }
  }
  detail["lifecycle"] = json::object{{"onTimeout", record.lifecycle.pause_on_timeout ? "pause" : "kill"},
                                     {"autoResume", record.lifecycle.auto_resume}};
  return detail;
}

json::array metrics_json(const std::vector<sandbox::Metric>& samples) {
  json::array out;
  for (const auto& metric : samples) {
    json::object item;
    item["timestamp"] = rfc3339(metric.unix_nanos);
    item["timestampUnix"] = metric.unix_nanos / 1'000'000'000;
    item["cpuCount"] = metric.cpu_count;
    item["cpuUsedPct"] = metric.cpu_used_pct;
    item["memUsed"] = metric.mem_used;
    item["memTotal"] = metric.mem_total;
    item["memCache"] = 0;
    item["diskUsed"] = metric.disk_used;
    item["diskTotal"] = metric.disk_total;
    if (metric.network) {  // beyond E2B's fields (the SDKs ignore them): the sandbox's traffic so far
      item["netTxBytes"] = metric.network->out_bytes;
      item["netRxBytes"] = metric.network->in_bytes;
      item["netConnections"] = metric.network->connections;
      item["netDeniedPackets"] = metric.network->denied;
    }
    out.push_back(std::move(item));
  }
  return out;
}

json::array templates_json(const std::vector<sandbox::TemplateEntry>& templates) {
  json::array out;
  for (const auto& entry : templates) {
    json::array aliases;
    aliases.push_back(json::string(entry.info.name));
    for (const auto& alias : entry.aliases) aliases.push_back(json::string(alias));
    json::object item;
    item["templateID"] = entry.info.name;
    item["buildID"] = entry.info.hash.substr(0, 16);
    item["aliases"] = std::move(aliases);
    item["public"] = true;
    item["buildStatus"] = "ready";
    item["envdVersion"] = kEnvdVersion;
    item["createdAt"] = entry.info.built_at;
    item["updatedAt"] = entry.info.built_at;
    out.push_back(std::move(item));
  }
  return out;
}

boost::json::object snapshot_json(const store::SnapshotRecord& snapshot) {
  boost::json::array names;
  for (const auto& name : sandbox::snapshot_names(snapshot)) names.emplace_back(name);
  // E2B's two fields, and what this server adds for its CLI: the disk its own layer takes and its source.
  return {{"snapshotID", sandbox::snapshot_id(snapshot)},
          {"names", std::move(names)},
          {"sizeBytes", snapshot.size_bytes},
          {"sandboxID", snapshot.sandbox_id}};
}

}  // namespace cellblock::api
