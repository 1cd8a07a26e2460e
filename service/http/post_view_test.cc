#include "service/http/post_view.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::service::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A Create of a Note whose object has `object_fields` (JSON members, without braces).
std::string Create(const std::string& object_fields) {
  return absl::StrCat(
      R"({"id":"https://a.example/1/activity","type":"Create","actor":"https://a.example/u/x",)",
      R"("object":{"id":"https://a.example/1","type":"Note",)", object_fields, "}}");
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string ContentOf(const std::string& html) {
  return Create(absl::StrCat("\"content\":", Quote(html)));
}

// Every text of the view's paragraphs, runs joined, paragraphs separated by '|'.
std::string Text(const PostView& v) {
  std::string out;
  for (size_t i = 0; i < v.paragraphs.size(); ++i) {
    if (i > 0) out += '|';
    for (const PostInline& in : v.paragraphs[i])
      out += in.kind == PostInline::Kind::kBreak ? "\n" : in.text;
  }
  return out;
}

std::string Json(const PostView& v) {
  JsonOut j;
  WritePostView(v, j);
  return j.str();
}

TEST(PostViewTest, ParagraphsBreaksAndLinks) {
  PostView v = BuildPostView(ContentOf(
      "<p>Hello <b>world</b>,<br>second line</p><p>see <a href=\"https://b.example/x?a=1&amp;b=2\" "
      "class=\"u-url\">this   link</a> now</p>"));
  ASSERT_TRUE(v.error.empty()) << v.error;
  EXPECT_EQ(v.type, "Note");
  EXPECT_EQ(Text(v), "Hello world,\nsecond line|see this link now");
  ASSERT_EQ(v.paragraphs.size(), 2u);
  ASSERT_EQ(v.paragraphs[1].size(), 3u);
  EXPECT_EQ(v.paragraphs[1][1].kind, PostInline::Kind::kLink);
  EXPECT_EQ(v.paragraphs[1][1].href, "https://b.example/x?a=1&b=2");
  EXPECT_EQ(v.paragraphs[1][1].text, "this link");
}

TEST(PostViewTest, ScriptsHandlersAndDangerousLinksAreInert) {
  PostView v = BuildPostView(ContentOf(
      "<p>free crypto<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=1\">"
      "<a href=\"javascript:window.__pwned=1\">x</a><svg "
      "onload=\"window.__pwned=1\"><text>svgtext</text></svg>"
      "<a href=\" JaVaScRiPt:alert(1)\">y</a><a "
      "href=\"data:text/html,<script>alert(1)</script>\">z</a>"
      "<a href=\"//evil.example/\">w</a><a href=\"java&#x09;script:alert(1)\">v</a>"
      "<style>body{display:none}</style><iframe src=\"https://evil.example\">frame</iframe>"
      "<math><mi>m</mi></math><!-- <script>c</script> --><p style=\"position:fixed\">styled</p>"));
  std::string text = Text(v);
  EXPECT_EQ(text, "free cryptoxyzwv|styled");
  for (const auto& p : v.paragraphs) {
    for (const PostInline& in : p) EXPECT_EQ(in.kind, PostInline::Kind::kText) << in.href;
  }
  std::string json = Json(v);
  EXPECT_THAT(json, Not(HasSubstr("script")));
  EXPECT_THAT(json, Not(HasSubstr("onerror")));
  EXPECT_THAT(json, Not(HasSubstr("svgtext")));
  EXPECT_THAT(json, Not(HasSubstr("<")));
}

TEST(PostViewTest, EscapedMarkupStaysText) {
  PostView v = BuildPostView(ContentOf("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; 1 < 2</p>"));
  EXPECT_EQ(Text(v), "<script>alert(1)</script> & 1 < 2");
  // In JSON the angle brackets are escaped, so the answer is inert even as HTML.
  EXPECT_THAT(Json(v), HasSubstr("\\u003cscript\\u003e"));
}

TEST(PostViewTest, UnterminatedScriptDropsTheRest) {
  PostView v = BuildPostView(ContentOf("<p>before</p><script>never closed <p>after</p>"));
  EXPECT_EQ(Text(v), "before");
}

TEST(PostViewTest, NestedSvgIsDroppedWhole) {
  PostView v =
      BuildPostView(ContentOf("a<svg><svg><a href=\"https://x.example\">in</a></svg>still</svg>b"));
  EXPECT_EQ(Text(v), "ab");
}

TEST(PostViewTest, SummaryNameUrlAttachments) {
  PostView v = BuildPostView(Create(
      R"j("summary":"<b>CW</b> spoilers","name":"Title","sensitive":true,"url":"https://a.example/@x/1","content":"<p>body</p>",)j"
      R"j("attachment":[{"type":"Document","mediaType":"image/png","url":"https://media.example/a.png","name":"a cat"},)j"
      R"j({"type":"Document","mediaType":"image/svg+xml","url":"javascript:alert(1)","name":"<script>x</script>alt"},)j"
      R"j({"type":"Link","href":["data:x","https://media.example/b"]}])j"));
  ASSERT_TRUE(v.error.empty()) << v.error;
  EXPECT_EQ(v.summary, "CW spoilers");
  EXPECT_EQ(v.name, "Title");
  EXPECT_TRUE(v.sensitive);
  EXPECT_EQ(v.url, "https://a.example/@x/1");
  ASSERT_EQ(v.attachments.size(), 3u);
  EXPECT_EQ(v.attachments[0].url, "https://media.example/a.png");
  EXPECT_EQ(v.attachments[0].name, "a cat");
  EXPECT_EQ(v.attachments[1].url, "");
  EXPECT_EQ(v.attachments[1].name, "alt");
  EXPECT_EQ(v.attachments[2].url, "https://media.example/b");
}

TEST(PostViewTest, ContentMapAndAnnounce) {
  PostView mapped = BuildPostView(Create(R"("contentMap":{"de":"<p>hallo</p>"})"));
  EXPECT_EQ(Text(mapped), "hallo");
  PostView announce = BuildPostView(
      R"({"id":"https://a.example/2","type":"Announce","actor":"https://a.example/u/x","object":"https://b.example/n/1"})");
  EXPECT_EQ(announce.type, "Announce");
  ASSERT_EQ(announce.paragraphs.size(), 1u);
  EXPECT_EQ(announce.paragraphs[0][0].href, "https://b.example/n/1");
}

TEST(PostViewTest, LongTextIsCutAtTheBound) {
  std::string word = "ab\xC3\xA9";  // "abé": a cut must not split the é
  std::string html = "<p>";
  for (int i = 0; i < 20000; ++i) absl::StrAppend(&html, word, " ");
  PostViewLimits limits;
  limits.max_text_bytes = 1001;
  PostView v = BuildPostView(ContentOf(html), limits);
  EXPECT_TRUE(v.truncated);
  std::string text = Text(v);
  EXPECT_LE(text.size(), 1001u);
  EXPECT_GT(text.size(), 900u);
  EXPECT_TRUE(text.back() != '\xC3');
}

TEST(PostViewTest, ManyParagraphsAndLinksAreCapped) {
  std::string html;
  for (int i = 0; i < 2000; ++i)
    absl::StrAppend(&html, "<p><a href=\"https://x.example/", i, "\">l", i, "</a></p>");
  PostViewLimits limits;
  limits.max_paragraphs = 100;
  limits.max_links = 10;
  PostView v = BuildPostView(ContentOf(html), limits);
  EXPECT_TRUE(v.truncated);
  EXPECT_EQ(v.paragraphs.size(), 100u);
  size_t links = 0;
  for (const auto& p : v.paragraphs) {
    for (const PostInline& in : p) links += in.kind == PostInline::Kind::kLink;
  }
  EXPECT_EQ(links, 10u);
}

TEST(PostViewTest, BadActivitiesGiveAnError) {
  EXPECT_THAT(BuildPostView("not json").error, HasSubstr("not valid JSON"));
  EXPECT_THAT(BuildPostView("[1,2]").error, HasSubstr("not a JSON object"));
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(BuildPostView(absl::StrCat(R"({"a":)", deep, "}")).error.empty());
  PostViewLimits small;
  small.max_json_bytes = 10;
  EXPECT_THAT(BuildPostView(ContentOf("x"), small).error, HasSubstr("more than the page renders"));
}

TEST(PostViewTest, InvalidUtf8IsReplaced) {
  PostView v = BuildPostView(ContentOf("ok"));
  EXPECT_EQ(Text(v), "ok");
  size_t budget = 100;
  bool truncated = false;
  auto paragraphs = HtmlToParagraphs(
      "a\xFF"
      "b",
      PostViewLimits{}, &budget, &truncated);
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(paragraphs[0][0].text,
            "a\xEF\xBF\xBD"
            "b");
}

TEST(SafeHttpUrlTest, OnlyAbsoluteHttpUrls) {
  EXPECT_EQ(SafeHttpUrl("https://a.example/x"), "https://a.example/x");
  EXPECT_EQ(SafeHttpUrl("HTTP://a.example"), "HTTP://a.example");
  EXPECT_EQ(SafeHttpUrl("javascript:alert(1)"), "");
  EXPECT_EQ(SafeHttpUrl(" https://a.example"), "");
  EXPECT_EQ(SafeHttpUrl("https://a.example/\nx"), "");
  EXPECT_EQ(SafeHttpUrl("https:///x"), "");
  EXPECT_EQ(SafeHttpUrl("https:"), "");
  EXPECT_EQ(SafeHttpUrl("//a.example"), "");
  EXPECT_EQ(SafeHttpUrl("data:text/html,x"), "");
  EXPECT_EQ(SafeHttpUrl("https://a.example/\"onmouseover=x"), "");
  EXPECT_EQ(SafeHttpUrl(std::string(3000, 'a').insert(0, "https://")), "");
}

}  // namespace
}  // namespace fedwall::service::http
