#include "service/http/metrics.h"

#include <algorithm>
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
  if (!stats.counters.empty()) {
    auto get = [&](const char* name) {
      auto it = stats.counters.find(name);
      return it == stats.counters.end() ? uint64_t{0} : it->second;
    };
    absl::StrAppend(
        &out,
        "# HELP fedwall_counter_queries_total Counter values (actor.rate, text.seen, ...) asked "
        "of the counter state, by outcome: known, or unknown (the state could not answer; "
        "rules over them did not fire).\n"
        "# TYPE fedwall_counter_queries_total counter\n"
        "fedwall_counter_queries_total{outcome=\"known\"} ",
        get("queries") - std::min(get("queries"), get("unknown")), "\n",
        "fedwall_counter_queries_total{outcome=\"unknown\"} ", get("unknown"), "\n",
        "# HELP fedwall_counter_state_failures_total Calls to the counter state that failed as "
        "a whole (Redis away, a timeout).\n"
        "# TYPE fedwall_counter_state_failures_total counter\n"
        "fedwall_counter_state_failures_total ", get("failures"), "\n",
        "# HELP fedwall_counter_series Counter series held in this process (state \"memory\").\n"
        "# TYPE fedwall_counter_series gauge\n"
        "fedwall_counter_series ", get("series"), "\n",
        "# HELP fedwall_counter_series_evicted_total Series evicted to stay within "
        "state.max_memory_bytes.\n"
        "# TYPE fedwall_counter_series_evicted_total counter\n"
        "fedwall_counter_series_evicted_total ", get("evicted"), "\n",
        "# HELP fedwall_counter_memory_bytes Approximate memory of the counters in this "
        "process.\n"
        "# TYPE fedwall_counter_memory_bytes gauge\n"
        "fedwall_counter_memory_bytes ", get("memory_bytes"), "\n");
  }
  return out;
}

}  // namespace fedwall::service::http
