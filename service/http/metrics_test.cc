#include "service/http/metrics.h"

#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/stats.h"

namespace fedwall::service::http {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, PrometheusTextFormat) {
  Stats stats;
  std::string_view fired[] = {"free_crypto", "weird\"rule\\id\nx"};
  stats.RecordDecision(StatVerdict::kFlag, fired, absl::Microseconds(250));
  stats.RecordDecision(StatVerdict::kAccept, {}, absl::Microseconds(10));
  stats.RecordReload(true);
  stats.RecordReload(false);
  std::string text = RenderMetrics(stats.Snapshot());
  EXPECT_THAT(text, HasSubstr("# TYPE fedwall_decisions_total counter\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_decisions_total{verdict=\"FLAG\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_decisions_total{verdict=\"ACCEPT\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_decisions_total{verdict=\"REJECT\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_rule_matches_total{rule=\"free_crypto\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_rule_matches_total{rule=\"weird\\\"rule\\\\id\\nx\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_evaluation_latency_seconds{quantile=\"0.99\"} 0.00025"));
  EXPECT_THAT(text, HasSubstr("fedwall_policy_reloads_total 1\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_policy_reload_failures_total 1\n"));
  EXPECT_THAT(text, HasSubstr("fedwall_start_time_seconds 1"));
  // Every line is a comment or "name{labels} value": no raw line breaks inside labels.
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "the text ends with a line feed";
    std::string line = text.substr(start, end - start);
    EXPECT_TRUE(line.rfind("# ", 0) == 0 || line.rfind("fedwall_", 0) == 0) << line;
    start = end + 1;
  }
}

TEST(MetricsTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("\xFF"), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace fedwall::service::http
