#pragma once
// The resource samples of one sandbox, as E2B's /metrics reports them: taken from its cgroups every 5 s, the
// last hour kept.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "net/nft_script.h"
#include "runtime/runtime.h"

namespace cellblock::sandbox {

struct Metric {
  std::int64_t unix_nanos = 0;
  double cpu_used_pct = 0;
  std::uint64_t mem_used = 0;
  std::uint64_t mem_total = 0;
  std::uint64_t disk_used = 0;
  std::uint64_t disk_total = 0;
  std::uint32_t cpu_count = 0;
  // Its network traffic so far (totals since the sandbox's link was made); none without a link.
  std::optional<net::TrafficCounters> network;
};

class MetricsSeries {
 public:
  static constexpr std::size_t kKept = 720;  // one hour at one sample per 5 s

  // Adds a sample; the CPU share is measured against the previous sample.
  void record(const runtime::Usage& usage, const runtime::Limits& limits, std::int64_t now_nanos,
              std::optional<net::TrafficCounters> network = std::nullopt);
  // Samples whose second lies in [start, end] (each bound optional).
  std::vector<Metric> between(std::optional<std::int64_t> start_unix,
                              std::optional<std::int64_t> end_unix) const;

 private:
  std::deque<Metric> samples_;
  std::uint64_t last_cpu_ns_ = 0;
  std::int64_t last_sample_ = 0;
};

}  // namespace cellblock::sandbox
