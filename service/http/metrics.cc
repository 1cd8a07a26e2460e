#include "service/http/metrics.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "engine/text/normalize.h"

namespace fedwall::service::http {
namespace {

// Seconds with enough digits for nanoseconds, without exponent noise for common values.
std::string Seconds(double s) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", s);
  return buf;
}

// A point in time as Unix seconds with milliseconds, never in exponent form.
std::string UnixSeconds(absl::Time t) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", absl::ToDoubleSeconds(t - absl::UnixEpoch()));
  return buf;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string valid = text::SanitizeUtf8(value);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderMetrics(const StatsSnapshot& stats) {
  std::string out;
  absl::StrAppend(
      &out,
      "# HELP fedwall_decisions_total Activities decided (or answered with an error), by verdict.\n"
      "# TYPE fedwall_decisions_total counter\n");
  for (const auto& [verdict, n] : stats.verdicts) {
    absl::StrAppend(&out, "fedwall_decisions_total{verdict=\"", EscapeLabelValue(verdict), "\"} ",
                    n, "\n");
  }
  absl::StrAppend(
      &out,
      "# HELP fedwall_rule_matches_total Times each rule fired (synthetic matches included).\n"
      "# TYPE fedwall_rule_matches_total counter\n");
  for (const auto& [rule, n] : stats.rules) {
    absl::StrAppend(&out, "fedwall_rule_matches_total{rule=\"", EscapeLabelValue(rule), "\"} ", n,
                    "\n");
  }
  absl::StrAppend(
      &out,
      "# HELP fedwall_evaluation_latency_seconds Evaluation latency quantiles since the start.\n"
      "# TYPE fedwall_evaluation_latency_seconds summary\n");
  for (const auto& [q, d] :
       {std::pair{"0.5", stats.latency_p50}, std::pair{"0.9", stats.latency_p90},
        std::pair{"0.99", stats.latency_p99}}) {
    absl::StrAppend(&out, "fedwall_evaluation_latency_seconds{quantile=\"", q, "\"} ",
                    Seconds(absl::ToDoubleSeconds(d)), "\n");
  }
  absl::StrAppend(
      &out,
      "# HELP fedwall_policy_reloads_total Successful policy compiles after the first.\n"
      "# TYPE fedwall_policy_reloads_total counter\n"
      "fedwall_policy_reloads_total ",
      stats.reloads, "\n",
      "# HELP fedwall_policy_reload_failures_total Policy compiles that failed (the old policy "
      "kept serving).\n"
      "# TYPE fedwall_policy_reload_failures_total counter\n"
      "fedwall_policy_reload_failures_total ",
      stats.reload_failures, "\n",
      "# HELP fedwall_start_time_seconds When fedwalld started, in seconds since the Unix epoch.\n"
      "# TYPE fedwall_start_time_seconds gauge\n"
      "fedwall_start_time_seconds ",
      UnixSeconds(stats.started_at), "\n");
  if (!stats.gateway.empty()) {
    absl::StrAppend(&out,
                    "# HELP fedwall_gateway_events_total What the inbox gateway did, by event "
                    "(docs/integrations/gateway.md).\n"
                    "# TYPE fedwall_gateway_events_total counter\n");
    for (const auto& [name, n] : stats.gateway) {
      absl::StrAppend(&out, "fedwall_gateway_events_total{event=\"", name, "\"} ", n, "\n");
    }
  }
  return out;
}

}  // namespace fedwall::service::http
