#include "tools/files.h"

#include "engine/activity/facts.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace fedwall::tools {
namespace {

struct Read {
  std::vector<std::string> lines;  // "!" + number for a line that was too long
};

Read ReadAll(const std::string& data, size_t max) {
  std::FILE* f = std::tmpfile();
  std::fwrite(data.data(), 1, data.size(), f);
  std::rewind(f);
  LineReader reader(f, max);
  Read out;
  std::string_view line;
  while (true) {
    LineReader::Result r = reader.Next(&line);
    if (r == LineReader::Result::kEnd || r == LineReader::Result::kError) break;
    if (r == LineReader::Result::kTooLong) {
      out.lines.push_back("!" + std::to_string(reader.line_number()));
    } else {
      out.lines.emplace_back(line);
    }
  }
  EXPECT_EQ(reader.bytes_read(), data.size());
  std::fclose(f);
  return out;
}

TEST(LineReaderTest, SplitsLines) {
  EXPECT_EQ(ReadAll("a\nbb\r\n\nccc", 10).lines, (std::vector<std::string>{"a", "bb", "", "ccc"}));
  EXPECT_EQ(ReadAll("", 10).lines, std::vector<std::string>{});
  EXPECT_EQ(ReadAll("x\n", 10).lines, std::vector<std::string>{"x"});
}

TEST(LineReaderTest, SkipsOverlongLinesAndKeepsCounting) {
  std::string data = "short\n" + std::string(100, 'x') + "\nafter\n" + std::string(11, 'y');
  EXPECT_EQ(ReadAll(data, 10).lines, (std::vector<std::string>{"short", "!2", "after", "!4"}));
  // A line of exactly the limit is fine.
  EXPECT_EQ(ReadAll(std::string(10, 'z') + "\n", 10).lines,
            std::vector<std::string>{std::string(10, 'z')});
}

TEST(LineReaderTest, LinesAcrossManyChunks) {
  // Lines longer than the read chunk (64 KiB) and a huge overlong one, in constant memory.
  std::string big(200000, 'b');
  std::string huge(3000000, 'h');
  std::string data = big + "\n" + huge + "\nend";
  Read r = ReadAll(data, 1 << 20);
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0], big);
  EXPECT_EQ(r.lines[1], "!2");
  EXPECT_EQ(r.lines[2], "end");
}

TEST(LineReaderTest, ManyShortLines) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += std::to_string(i) + "\n";
  Read r = ReadAll(data, 64);
  ASSERT_EQ(r.lines.size(), 100000u);
  EXPECT_EQ(r.lines[0], "0");
  EXPECT_EQ(r.lines[65535], "65535");
  EXPECT_EQ(r.lines[99999], "99999");
}

TEST(FilesTest, MissingFileNamesThePath) {
  absl::StatusOr<RequestFacts> facts = LoadFactsFile("/nonexistent/facts.json");
  ASSERT_FALSE(facts.ok());
  EXPECT_NE(facts.status().message().find("/nonexistent/facts.json"), std::string::npos);
}

}  // namespace
}  // namespace fedwall::tools
