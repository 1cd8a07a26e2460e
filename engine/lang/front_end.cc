// The front end's driver: reading a policy directory, then lexing, parsing and checking.
#include "engine/lang/front_end.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "engine/lang/checker.h"
#include "engine/lang/parser.h"
#include "engine/lang/report.h"
#include "engine/lang/strings.h"

namespace fedwall::lang {
namespace {

namespace fs = std::filesystem;

FrontEndResult Load(std::vector<SourceFile> files, const ReadFileFn& read_file,
                    const FrontEndOptions& options, std::vector<Diagnostic> early) {
  FrontEndResult result;
  PolicyAst& ast = result.ast;
  ast.files = std::move(files);
  Reporter reporter(ast.files, options.max_diagnostics);
  for (Diagnostic& d : early) {
    reporter.AddForFile(d.severity, d.path, d.line, d.column, std::move(d.message),
                        SourceLocation{0, 0, 0});
  }
  if (ast.files.size() > options.max_files) {
    reporter.Global(Diagnostic::Severity::kError,
                    Cat("more than ", options.max_files, " rule files in the policy (max_files)"));
    ast.files.resize(options.max_files);
  }
  size_t bytes_read = 0;
  bool over_total = false;
  for (uint32_t i = 0; i < ast.files.size(); ++i) {
    const std::string& bytes = ast.files[i].bytes;
    SourceLocation whole{i, 0, 0};
    if (bytes.size() > options.max_file_bytes) {
      reporter.Error(whole,
                     Cat("file larger than ", options.max_file_bytes, " bytes (max_file_bytes)"));
      continue;
    }
    if (over_total || bytes_read + bytes.size() > options.max_total_bytes) {
      if (!over_total) {
        reporter.Error(whole, Cat("the policy's files are larger than ", options.max_total_bytes,
                                  " bytes in all (max_total_bytes)"));
      }
      over_total = true;
      continue;
    }
    bytes_read += bytes.size();
    ParseFile(i, bytes, options, reporter, ast);
  }
  CheckPolicy(ast, read_file, options, reporter, bytes_read);
  result.diagnostics = std::move(reporter).Finish();
  return result;
}

// `path` (canonical) is `root` (canonical) or inside it.
bool Inside(const fs::path& path, const fs::path& root) {
  fs::path rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

// Reads at most `limit` + 1 bytes (enough for the caller to see the file is too large).
absl::StatusOr<std::string> ReadFileCapped(const fs::path& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open the file");
  std::string bytes;
  constexpr size_t kChunk = 1 << 16;
  while (bytes.size() <= limit) {
    size_t old = bytes.size();
    size_t want = std::min(kChunk, limit + 1 - old);
    bytes.resize(old + want);
    in.read(bytes.data() + old, static_cast<std::streamsize>(want));
    bytes.resize(old + static_cast<size_t>(in.gcount()));
    if (static_cast<size_t>(in.gcount()) < want) break;
  }
  if (in.bad()) return absl::DataLossError("read error");
  return bytes;
}

// Whether `entry` (a symlink or not) is inside `root` once resolved; the resolved status.
bool ResolvesInside(const fs::directory_entry& entry, const fs::path& root,
                    fs::file_status* status) {
  std::error_code ec;
  fs::path target = fs::canonical(entry.path(), ec);
  if (ec || !Inside(target, root)) return false;
  *status = fs::status(target, ec);
  return !ec;
}

}  // namespace

FrontEndResult LoadPolicyFiles(
    std::vector<SourceFile> files,
    const std::function<absl::StatusOr<std::string>(const std::string& path)>& read_file,
    const FrontEndOptions& options) {
  return Load(std::move(files), read_file, options, {});
}

FrontEndResult LoadPolicyDirectory(const std::string& directory, const FrontEndOptions& options) {
  std::vector<Diagnostic> early;
  auto fail = [&](std::string message) {
    early.push_back({directory, 0, 0, Diagnostic::Severity::kError, std::move(message)});
    return Load({}, nullptr, options, std::move(early));
  };
  std::error_code ec;
  fs::path root = fs::canonical(directory, ec);
  if (ec) return fail(Cat("cannot open the policy directory: ", ec.message()));
  if (!fs::is_directory(root, ec)) return fail("the policy path is not a directory");

  // Walk the tree: names starting with '.' skipped, symlinks followed only to files inside.
  std::vector<std::string> paths;
  std::vector<std::string> pending = {""};
  while (!pending.empty() && paths.size() <= options.max_files) {
    std::string rel = std::move(pending.back());
    pending.pop_back();
    fs::directory_iterator it(rel.empty() ? root : root / rel,
                              fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      early.push_back({rel.empty() ? "." : rel, 0, 0, Diagnostic::Severity::kError,
                       Cat("cannot list directory: ", ec.message())});
      continue;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      std::string child = rel.empty() ? name : Cat(rel, "/", name);
      fs::file_status status = it->symlink_status(ec);
      if (ec) continue;
      if (fs::is_symlink(status)) {
        if (!ResolvesInside(*it, root, &status)) {
          if (name.size() > 6 && name.ends_with(".rules")) {
            early.push_back({child, 0, 0, Diagnostic::Severity::kWarning,
                             "skipped: a symlink that leaves the policy directory"});
          }
          continue;
        }
        if (fs::is_directory(status)) continue;  // symlinked directories are not followed
      }
      if (fs::is_directory(status)) {
        pending.push_back(std::move(child));
      } else if (fs::is_regular_file(status) && name.size() > 6 && name.ends_with(".rules")) {
        paths.push_back(std::move(child));
        if (paths.size() > options.max_files) break;
      }
    }
  }
  std::sort(paths.begin(), paths.end());  // byte-wise: std::char_traits<char> compares unsigned
  if (paths.empty() && early.empty()) return fail("no .rules files in the policy directory");

  std::vector<SourceFile> files;
  size_t total = 0;
  for (std::string& p : paths) {
    if (total > options.max_total_bytes) break;  // Load reports it; read no further
    absl::StatusOr<std::string> bytes = ReadFileCapped(root / p, options.max_file_bytes);
    if (!bytes.ok()) {
      early.push_back(
          {p, 0, 0, Diagnostic::Severity::kError, Cat("cannot read: ", bytes.status().message())});
      continue;
    }
    total += bytes->size();
    files.push_back({std::move(p), *std::move(bytes)});
  }

  ReadFileFn read_file = [root, &options](const std::string& rel) -> absl::StatusOr<std::string> {
    std::error_code error;
    fs::path target = fs::canonical(root / rel, error);
    if (error) return absl::NotFoundError(error.message());
    if (!Inside(target, root)) {
      return absl::PermissionDeniedError("it leaves the policy directory (symlink)");
    }
    if (!fs::is_regular_file(target, error)) return absl::NotFoundError("not a regular file");
    absl::StatusOr<std::string> bytes = ReadFileCapped(target, options.max_total_bytes);
    if (bytes.ok() && bytes->size() > options.max_total_bytes) {
      return absl::ResourceExhaustedError(
          Cat("larger than ", options.max_total_bytes, " bytes (max_total_bytes)"));
    }
    return bytes;
  };
  return Load(std::move(files), read_file, options, std::move(early));
}

}  // namespace fedwall::lang
