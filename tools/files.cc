#include "tools/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace fedwall::tools {

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    std::string message = absl::StrCat(path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, f == stdin ? +[](std::FILE*) { return 0; }
                                                                        : &std::fclose);
  std::string data;
  char buf[1 << 16];
  while (true) {
    size_t n = std::fread(buf, 1, sizeof buf, f);
    if (n == 0) break;
    if (data.size() + n > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": larger than the limit of ", max_bytes, " bytes"));
    }
    data.append(buf, n);
  }
  if (std::ferror(f)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": read error: ", std::strerror(errno)));
  }
  return data;
}

}  // namespace fedwall::tools
