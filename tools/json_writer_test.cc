#include "tools/json_writer.h"

#include <gtest/gtest.h>

namespace fedwall::tools {
namespace {

TEST(JsonWriterTest, KeepsKeyOrderAndEscapes) {
  JsonWriter w;
  w.BeginObject();
  w.Key("z");
  w.String("a \"quoted\"\n\\ \x01");
  w.Key("a");
  w.BeginArray();
  w.Number(2);
  w.Number(0.5);
  w.Bool(false);
  w.Null();
  w.EndArray();
  w.Key("empty");
  w.BeginArray();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"z":"a \"quoted\"\n\\ \u0001","a":[2,0.5,false,null],"empty":[]})");
}

TEST(JsonWriterTest, PrettyIndentsTwoSpaces) {
  JsonWriter w(/*pretty=*/true);
  w.BeginObject();
  w.Key("a");
  w.Number(1);
  w.Key("b");
  w.BeginArray();
  w.String("x");
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(w.str(), "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ]\n}");
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacter) {
  JsonWriter w;
  w.String("a\xff" "b");
  EXPECT_EQ(w.str(), "\"a\xEF\xBF\xBD" "b\"");
}

TEST(JsonWriterTest, NumbersAreShortestRoundTrip) {
  JsonWriter w;
  w.BeginArray();
  w.Number(0.1);
  w.Number(-3);
  w.Number(1e300);
  w.EndArray();
  EXPECT_EQ(w.str(), "[0.1,-3,1e+300]");
}

}  // namespace
}  // namespace fedwall::tools
