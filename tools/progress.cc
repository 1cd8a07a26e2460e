#include "tools/progress.h"

#include <algorithm>
#include <ostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace fedwall::tools {
namespace {

constexpr int kBarWidth = 20;
constexpr absl::Duration kRedrawEvery = absl::Milliseconds(100);
// Look at the clock only every this many updates (an update per item must stay cheap).
constexpr uint32_t kClockEvery = 64;

std::string Rate(double per_second) {
  if (per_second >= 1e6) return absl::StrFormat("%.1fM/s", per_second / 1e6);
  if (per_second >= 1e4) return absl::StrFormat("%.0fk/s", per_second / 1e3);
  return absl::StrFormat("%.0f/s", per_second);
}

}  // namespace

ProgressBar::ProgressBar(std::ostream& err, bool enabled, std::string label, uint64_t total,
                         std::string items_name)
    : err_(err),
      enabled_(enabled),
      label_(std::move(label)),
      total_(total),
      items_name_(std::move(items_name)),
      start_(absl::Now()),
      last_draw_(absl::InfinitePast()) {}  // the first clock check draws

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t items) {
  if (!enabled_) return;
  if (++calls_ % kClockEvery != 0) return;
  absl::Time now = absl::Now();
  if (now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  Draw(done, items);
}

void ProgressBar::Draw(uint64_t done, uint64_t items) {
  std::string line = absl::StrCat("\r", label_, "  ");
  if (total_ > 0) {
    double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    int filled = static_cast<int>(fraction * kBarWidth);
    absl::StrAppend(&line, "[", std::string(static_cast<size_t>(filled), '#'),
                    std::string(static_cast<size_t>(kBarWidth - filled), '.'), "] ",
                    absl::StrFormat("%3.0f%%", fraction * 100), "  ");
  }
  double seconds = absl::ToDoubleSeconds(last_draw_ - start_);
  absl::StrAppend(&line, items, " ", items_name_);
  if (seconds > 0) absl::StrAppend(&line, "  ", Rate(static_cast<double>(items) / seconds));
  absl::StrAppend(&line, "\x1b[K");  // erase the rest of the line
  err_ << line << std::flush;
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (enabled_ && drawn_) err_ << "\r\x1b[K" << std::flush;
  enabled_ = false;
}

}  // namespace fedwall::tools
