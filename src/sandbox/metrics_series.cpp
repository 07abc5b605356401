#include "sandbox/metrics_series.h"

#include <algorithm>

namespace cellblock::sandbox {

void MetricsSeries::record(const runtime::Usage& usage, const runtime::Limits& limits, std::int64_t now,
                           std::optional<net::TrafficCounters> network) {
  Metric metric;
  metric.unix_nanos = now;
  metric.network = network;
  metric.cpu_count = static_cast<std::uint32_t>(std::max(1.0, limits.cpus));
  if (last_sample_ > 0 && now > last_sample_ && usage.cpu_ns >= last_cpu_ns_) {
    metric.cpu_used_pct = 100.0 * static_cast<double>(usage.cpu_ns - last_cpu_ns_) /
                          static_cast<double>(now - last_sample_) / metric.cpu_count;
  }
  last_cpu_ns_ = usage.cpu_ns;
  last_sample_ = now;
  metric.mem_used = usage.memory_bytes;
  metric.mem_total = limits.memory_bytes;
  metric.disk_used = usage.disk_bytes;
  metric.disk_total = limits.disk_bytes;
  samples_.push_back(metric);
  if (samples_.size() > kKept) samples_.pop_front();
}

std::vector<Metric> MetricsSeries::between(std::optional<std::int64_t> start_unix,
                                           std::optional<std::int64_t> end_unix) const {
  std::vector<Metric> out;
  for (const auto& metric : samples_) {
    const std::int64_t seconds = metric.unix_nanos / 1'000'000'000;
    if (start_unix && seconds < *start_unix) continue;
    if (end_unix && seconds > *end_unix) continue;
    out.push_back(metric);
  }
  return out;
}

}  // namespace cellblock::sandbox
