// PostView: a flagged post as the review page shows it, built on the server from the stored
// activity, and safe by construction.
//
// Posts are written by strangers, so the page never receives their HTML. BuildPostView reads
// the activity (the object of a Create/Update/Announce, or the activity itself) and keeps only:
//   - the content warning (`summary`) and the title (`name`), as plain text;
//   - the content as paragraphs of plain text runs, line breaks and links; a link keeps its
//     href only when it is an absolute http(s) URL without spaces or control characters
//     (javascript:, data:, vbscript:, relative and protocol-relative links lose it and become
//     plain text);
//   - attachments as {url, media type, name}, again only http(s) URLs;
//   - the object's type, id, url and `sensitive` flag.
// Everything else is dropped: tags, attributes (on*, style, class), comments, and the whole
// contents of <script>, <style>, <svg>, <math>, <template>, <iframe>, <object>, <noscript>,
// <textarea> and <title>. Character references are decoded (the page shows text, so "&lt;b&gt;"
// reads as "<b>", never as a tag). The page builds its DOM from this model with textContent and
// createElement only.
//
// Bounds (PostViewLimits): visible text, paragraphs, links and attachments are capped; past a
// cap the view is cut there and `truncated` is set. The walk is linear in the input.
//
// Example:
//   PostView v = BuildPostView(flag.data.activity_json);
//   if (!v.error.empty()) ... show the error and the raw JSON's size only
//   JsonOut j; WritePostView(v, j);
//
// Thread-safe: plain functions over values.
#ifndef FEDWALL_SERVICE_HTTP_POST_VIEW_H_
#define FEDWALL_SERVICE_HTTP_POST_VIEW_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "service/http/json.h"

namespace fedwall::service::http {

struct PostViewLimits {
  size_t max_json_bytes = size_t{4} << 20;  // larger stored activities are not rendered
  size_t max_json_depth = 64;
  size_t max_text_bytes = 32 << 10;  // visible text of the content, summary and name together
  size_t max_paragraphs = 500;
  size_t max_links = 200;
  size_t max_attachments = 32;
  size_t max_url_bytes = 2048;  // a longer URL is dropped
};

// One run of a paragraph: text, a link (text with href), or a line break.
struct PostInline {
  enum class Kind { kText, kLink, kBreak };
  Kind kind = Kind::kText;
  std::string text;
  std::string href;  // kLink only: an http(s) URL
};

struct PostAttachment {
  std::string url;  // http(s), or "" when the attachment had no usable URL
  std::string media_type;
  std::string name;  // the description (alt text)
};

struct PostView {
  std::string type;  // "Note", "Article", ...
  std::string id;
  std::string url;      // http(s) only
  std::string name;     // title, plain text
  std::string summary;  // content warning, plain text
  bool sensitive = false;
  std::vector<std::vector<PostInline>> paragraphs;
  std::vector<PostAttachment> attachments;
  bool truncated = false;  // a limit cut the view
  std::string error;       // set when the activity could not be read (the rest is empty)
};

PostView BuildPostView(std::string_view activity_json, const PostViewLimits& limits = {});

// HTML -> the paragraphs of a PostView (exposed for tests). `budget` is the number of bytes of
// text still allowed; it is decreased by what was kept. Sets *truncated when a limit cut it.
std::vector<std::vector<PostInline>> HtmlToParagraphs(std::string_view html,
                                                      const PostViewLimits& limits, size_t* budget,
                                                      bool* truncated);

// The URL when it is an absolute http:// or https:// URL of at most `max_bytes` bytes with no
// white space, control characters or backslashes; "" otherwise.
std::string SafeHttpUrl(std::string_view url, size_t max_bytes = 2048);

// Writes the view as one JSON object:
//   {"type","id","url","name","summary","sensitive","truncated","error",
//    "paragraphs":[[{"text":..} | {"text":..,"href":..} | {"br":true}]],
//    "attachments":[{"url","media_type","name"}]}
void WritePostView(const PostView& view, JsonOut& out);

}  // namespace fedwall::service::http

#endif  // FEDWALL_SERVICE_HTTP_POST_VIEW_H_
