// The replay driver (used when the targets are not built for libFuzzer): runs
// LLVMFuzzerTestOneInput once on every regular file under each argument (a file, or a directory
// walked recursively, in sorted order). Missing directories are skipped, so a target without
// regression inputs yet still passes. Exits 0 when every input ran (a finding crashes the
// process, as under libFuzzer), 2 on a usage or read error.
//
//   fuzz_activity_replay tests/fuzz/corpus/activity tests/fuzz/regressions/activity
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "tests/fuzz/fuzz_target.h"

namespace {

namespace fs = std::filesystem;

// Every regular file under `root` (or `root` itself), sorted; false on an error.
bool CollectFiles(const fs::path& root, std::vector<fs::path>* files) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return true;
  if (fs::is_regular_file(root, ec)) {
    files->push_back(root);
    return true;
  }
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) found.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "cannot list %s: %s\n", root.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(found.begin(), found.end());
  files->insert(files->end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    if (!CollectFiles(argv[i], &files)) return 2;
  }
  for (const fs::path& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 2;
    }
    std::fprintf(stderr, "running %s (%zu bytes)\n", path.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::fprintf(stderr, "%zu inputs ran\n", files.size());
  return 0;
}
