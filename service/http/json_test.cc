#include "service/http/json.h"

#include "gtest/gtest.h"

namespace fedwall::service::http {
namespace {

TEST(JsonOutTest, WritesNestedValues) {
  JsonOut j;
  j.BeginObject();
  j.Key("a");
  j.Int(-3);
  j.Key("b");
  j.BeginArray();
  j.Bool(true);
  j.Null();
  j.Double(0.1);
  j.Double(2);
  j.EndArray();
  j.Key("c");
  j.String("x");
  j.EndObject();
  EXPECT_EQ(j.str(), R"({"a":-3,"b":[true,null,0.1,2],"c":"x"})");
}

TEST(JsonOutTest, EscapesForHtmlContextsToo) {
  JsonOut j;
  j.String("<script>\"&\\\n\x01\xE2\x80\xA8\xFF");
  EXPECT_EQ(j.str(), "\"\\u003cscript\\u003e\\\"\\u0026\\\\\\n\\u0001\\u2028\xEF\xBF\xBD\"");
}

TEST(JsonOutTest, ErrorObject) { EXPECT_EQ(JsonError("no"), R"({"error":"no"})"); }

}  // namespace
}  // namespace fedwall::service::http
