// Reading the command line's input files with a size bound and clear errors.
#ifndef FEDWALL_TOOLS_FILES_H_
#define FEDWALL_TOOLS_FILES_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace fedwall::tools {

inline constexpr size_t kMaxFactsFileBytes = 1 << 20;          // 1 MiB
inline constexpr size_t kMaxActivityFileBytes = 16 << 20;      // the parser refuses > 1 MiB
inline constexpr size_t kMaxBlocklistFileBytes = 64 << 20;     // 64 MiB

// The whole file, or NotFound / InvalidArgument / ResourceExhausted with a message that names
// the path ("-" reads standard input).
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes);

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_FILES_H_
