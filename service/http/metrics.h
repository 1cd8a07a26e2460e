// Metrics: fedwalld's statistics (the same Stats as AdminService.GetStats) in the Prometheus
// text exposition format 0.0.4, served at /metrics on the admin HTTP port.
//
//   fedwall_decisions_total{verdict="ACCEPT"|"FLAG"|"REJECT"|"ERROR"}   counter
//   fedwall_rule_matches_total{rule="..."}                              counter (synthetic ids too)
//   fedwall_evaluation_latency_seconds{quantile="0.5"|"0.9"|"0.99"}     summary (quantiles only)
//   fedwall_policy_reloads_total, fedwall_policy_reload_failures_total  counters
//   fedwall_start_time_seconds                                          gauge (Unix time)
//
// Label values are escaped as the format asks (backslash, double quote, line feed); invalid
// UTF-8 in a rule id is replaced by U+FFFD.
//
// Example:
//   std::string body = RenderMetrics(stats.Snapshot());
//   res.set_content(body, kMetricsContentType);
//
// Thread-safe: a plain function.
#ifndef FEDWALL_SERVICE_HTTP_METRICS_H_
#define FEDWALL_SERVICE_HTTP_METRICS_H_

#include <string>
#include <string_view>

#include "service/stats.h"

namespace fedwall::service::http {

inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

std::string RenderMetrics(const StatsSnapshot& stats);

// A label value escaped for the text format (without the surrounding quotes).
std::string EscapeLabelValue(std::string_view value);

}  // namespace fedwall::service::http

#endif  // FEDWALL_SERVICE_HTTP_METRICS_H_
