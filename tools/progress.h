// ProgressBar: a one-line progress display on standard error for long jobs (replay, corpus
// generation), drawn only when standard error is a terminal, so piped and redirected runs stay
// quiet and their output stays clean.
//
//   replaying rules/  [##########..........]  51%  512000 activities  203k/s
//
// Draws at the 64th update, then at most about ten times a second whatever the update rate;
// Update() is cheap enough to call once per item. Finish() (or the destructor) erases the line.
//
// Example:
//   ProgressBar bar(std::cerr, isatty(STDERR_FILENO) == 1, "replaying", file_size, "activities");
//   while (...) bar.Update(bytes_read, ++activities);
//   bar.Finish();
//
// Not thread-safe; one bar per job.
#ifndef FEDWALL_TOOLS_PROGRESS_H_
#define FEDWALL_TOOLS_PROGRESS_H_

#include <cstdint>
#include <iosfwd>
#include <string>

#include "absl/time/time.h"

namespace fedwall::tools {

class ProgressBar {
 public:
  // `enabled`: draw at all (pass whether standard error is a terminal). `total`: the amount
  // of work in the unit of Update's `done` (bytes of a file, items), 0 when unknown (then
  // only the item count and rate are shown). `items_name`: "activities", "lines", ...
  ProgressBar(std::ostream& err, bool enabled, std::string label, uint64_t total,
              std::string items_name);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done`: work done so far (same unit as `total`); `items`: items handled so far.
  void Update(uint64_t done, uint64_t items);
  // Erases the bar. Further updates draw nothing.
  void Finish();

  bool enabled() const { return enabled_; }

 private:
  void Draw(uint64_t done, uint64_t items);

  std::ostream& err_;
  bool enabled_;
  std::string label_;
  uint64_t total_;
  std::string items_name_;
  absl::Time start_;
  absl::Time last_draw_;
  uint32_t calls_ = 0;
  bool drawn_ = false;
};

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_PROGRESS_H_
