#include "service/http/post_view.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/text/normalize.h"
#include "simdjson.h"

namespace fedwall::service::http {
namespace {

namespace dom = simdjson::dom;

// ASCII lower case (absl's takes absl::string_view, which is not std::string_view here).
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Elements whose whole content is dropped.
bool IsHiddenElement(std::string_view name) {
  static constexpr std::string_view kHidden[] = {
      "script",   "style", "svg",  "math",    "template", "iframe", "object", "noscript",
      "textarea", "title", "head", "noembed", "noframes", "xmp",    "select", "frameset"};
  return std::find(std::begin(kHidden), std::end(kHidden), name) != std::end(kHidden);
}

// Elements whose start and end separate paragraphs.
bool IsBlockElement(std::string_view name) {
  static constexpr std::string_view kBlocks[] = {
      "p",          "div",    "li",     "ul",         "ol",      "h1",      "h2",     "h3",
      "h4",         "h5",     "h6",     "blockquote", "pre",     "tr",      "table",  "section",
      "article",    "header", "footer", "hr",         "dl",      "dt",      "dd",     "figure",
      "figcaption", "aside",  "nav",    "main",       "details", "summary", "address"};
  return std::find(std::begin(kBlocks), std::end(kBlocks), name) != std::end(kBlocks);
}

// A UTF-8 prefix of `s` of at most `n` bytes that does not cut a character.
std::string_view Utf8Prefix(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Builds paragraphs from text runs, collapsing white space as a browser does.
class ParagraphBuilder {
 public:
  ParagraphBuilder(const PostViewLimits& limits, size_t* budget, bool* truncated)
      : limits_(limits), budget_(budget), truncated_(truncated) {}

  bool full() const { return full_; }

  void Text(std::string_view decoded, const std::string& href) {
    for (size_t i = 0; i < decoded.size() && !full_;) {
      if (IsSpace(decoded[i])) {
        pending_space_ = true;
        ++i;
        continue;
      }
      size_t end = i;
      while (end < decoded.size() && !IsSpace(decoded[end])) ++end;
      Word(decoded.substr(i, end - i), href);
      i = end;
    }
  }

  void Break() {
    if (full_ || current_.empty()) return;
    current_.push_back(PostInline{PostInline::Kind::kBreak, "", ""});
    pending_space_ = false;
  }

  void EndParagraph() {
    while (!current_.empty() && current_.back().kind == PostInline::Kind::kBreak)
      current_.pop_back();
    if (!current_.empty()) {
      if (paragraphs_.size() >= limits_.max_paragraphs) {
        Truncate();
      } else {
        paragraphs_.push_back(std::move(current_));
      }
    }
    current_.clear();
    pending_space_ = false;
  }

  std::vector<std::vector<PostInline>> Finish() {
    if (!full_) EndParagraph();
    return std::move(paragraphs_);
  }

 private:
  void Truncate() {
    full_ = true;
    *truncated_ = true;
  }

  void Word(std::string_view word, const std::string& href) {
    bool space =
        pending_space_ && !current_.empty() && current_.back().kind != PostInline::Kind::kBreak;
    pending_space_ = false;
    size_t need = word.size() + (space ? 1 : 0);
    if (need > *budget_) {
      std::string_view cut = Utf8Prefix(word, *budget_ > 0 ? *budget_ - (space ? 1 : 0) : 0);
      if (*budget_ > 0 && !cut.empty()) Append(cut, href, space);
      Truncate();
      EndParagraph();
      return;
    }
    Append(word, href, space);
  }

  void Append(std::string_view word, const std::string& href, bool space) {
    PostInline::Kind kind = href.empty() ? PostInline::Kind::kText : PostInline::Kind::kLink;
    bool joins = !current_.empty() && current_.back().kind == kind && current_.back().href == href;
    if (!joins && kind == PostInline::Kind::kLink) {
      if (links_ >= limits_.max_links) {
        kind = PostInline::Kind::kText;  // past the cap, links become text
        joins = !current_.empty() && current_.back().kind == kind;
      } else {
        ++links_;
      }
    }
    if (space) {
      // The space between two runs goes to the earlier one, so link text is not padded.
      if (joins) {
        current_.back().text += ' ';
      } else {
        if (current_.back().kind == PostInline::Kind::kText) {
          current_.back().text += ' ';
        } else {
          current_.push_back(PostInline{PostInline::Kind::kText, " ", ""});
          if (kind == PostInline::Kind::kText) joins = true;
        }
      }
      --*budget_;
    }
    if (joins) {
      current_.back().text.append(word);
    } else {
      current_.push_back(PostInline{kind, std::string(word),
                                    kind == PostInline::Kind::kLink ? href : std::string()});
    }
    *budget_ -= word.size();
  }

  const PostViewLimits& limits_;
  size_t* budget_;
  bool* truncated_;
  std::vector<std::vector<PostInline>> paragraphs_;
  std::vector<PostInline> current_;
  bool pending_space_ = false;
  bool full_ = false;
  size_t links_ = 0;
};

struct Tag {
  std::string name;  // lower case
  bool end = false;
  bool self_closing = false;
  std::string href;  // raw value of the href attribute
};

// Reads a tag starting at html[i] == '<' (followed by a letter, or '/' and a letter); returns
// the index after its '>' (or the end of the input, where the tag is dropped).
size_t ReadTag(std::string_view html, size_t i, Tag* tag) {
  size_t p = i + 1;
  if (html[p] == '/') {
    tag->end = true;
    ++p;
  }
  size_t name_start = p;
  while (p < html.size() && !IsSpace(html[p]) && html[p] != '/' && html[p] != '>') ++p;
  tag->name = Lower(html.substr(name_start, p - name_start));
  while (p < html.size()) {
    while (p < html.size() && (IsSpace(html[p]) || html[p] == '/')) {
      if (html[p] == '/') tag->self_closing = true;
      ++p;
    }
    if (p >= html.size()) break;
    if (html[p] == '>') return p + 1;
    tag->self_closing = false;
    size_t attr_start = p;
    ++p;  // an attribute name may start with '='
    while (p < html.size() && !IsSpace(html[p]) && html[p] != '/' && html[p] != '>' &&
           html[p] != '=')
      ++p;
    std::string attr = Lower(html.substr(attr_start, p - attr_start));
    while (p < html.size() && IsSpace(html[p])) ++p;
    if (p >= html.size() || html[p] != '=') continue;
    ++p;
    while (p < html.size() && IsSpace(html[p])) ++p;
    if (p >= html.size()) break;
    std::string_view value;
    if (html[p] == '"' || html[p] == '\'') {
      char quote = html[p++];
      size_t close = html.find(quote, p);
      if (close == std::string_view::npos) close = html.size();
      value = html.substr(p, close - p);
      p = std::min(close + 1, html.size());
    } else {
      size_t start = p;
      while (p < html.size() && !IsSpace(html[p]) && html[p] != '>') ++p;
      value = html.substr(start, p - start);
    }
    if (attr == "href" && !tag->end) tag->href = std::string(value);
  }
  return html.size();
}

// Decodes character references of an attribute value or a text run (no tags in it).
std::string Decode(std::string_view raw) {
  if (raw.find('&') == std::string_view::npos && raw.find('<') == std::string_view::npos) {
    return text::SanitizeUtf8(raw);
  }
  // HtmlToText turns "\n" from block boundaries only; a run without tags keeps its text.
  return text::HtmlToText(raw);
}

std::string_view GetString(dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
}

// The first string of a language map ({"en": "..."}).
std::string_view FirstOfMap(dom::element e) {
  dom::object map;
  if (e.get_object().get(map) != simdjson::SUCCESS) return {};
  for (dom::key_value_pair kv : map) {
    std::string_view s = GetString(kv.value);
    if (!s.empty()) return s;
  }
  return {};
}

std::string_view Field(dom::object o, std::string_view key, std::string_view map_key = {}) {
  dom::element e;
  if (o[key].get(e) == simdjson::SUCCESS) {
    std::string_view s = GetString(e);
    if (!s.empty()) return s;
  }
  if (!map_key.empty() && o[map_key].get(e) == simdjson::SUCCESS) return FirstOfMap(e);
  return {};
}

// A URL from a string, a Link object ({"href"}), or an array of them (the first usable one).
std::string UrlOf(dom::element e, const PostViewLimits& limits, int depth = 0) {
  if (depth > 2) return "";
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return SafeHttpUrl(s, limits.max_url_bytes);
  dom::object o;
  if (e.get_object().get(o) == simdjson::SUCCESS) {
    dom::element href;
    if (o["href"].get(href) == simdjson::SUCCESS) return UrlOf(href, limits, depth + 1);
    return "";
  }
  dom::array a;
  if (e.get_array().get(a) == simdjson::SUCCESS) {
    size_t seen = 0;
    for (dom::element item : a) {
      if (++seen > 8) break;
      std::string url = UrlOf(item, limits, depth + 1);
      if (!url.empty()) return url;
    }
  }
  return "";
}

// Plain text of an HTML field, cut to the budget.
std::string PlainField(std::string_view html, size_t* budget, bool* truncated) {
  std::string plain = text::HtmlToText(html);
  std::string out;
  bool space = false;
  for (char c : plain) {
    if (IsSpace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > *budget) {
    out = std::string(Utf8Prefix(out, *budget));
    *truncated = true;
  }
  *budget -= out.size();
  return out;
}

}  // namespace

std::string SafeHttpUrl(std::string_view url, size_t max_bytes) {
  if (url.empty() || url.size() > max_bytes) return "";
  for (char c : url) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\' || c == '"' || c == '<' || c == '>' || c == '`')
      return "";
  }
  std::string lower = Lower(url.substr(0, 8));
  size_t rest;
  if (lower.rfind("https://", 0) == 0) {
    rest = 8;
  } else if (lower.rfind("http://", 0) == 0) {
    rest = 7;
  } else {
    return "";
  }
  // A host is required.
  if (url.size() <= rest || url[rest] == '/' || url[rest] == '?' || url[rest] == '#') return "";
  if (!text::IsValidUtf8(url)) return "";
  return std::string(url);
}

std::vector<std::vector<PostInline>> HtmlToParagraphs(std::string_view html,
                                                      const PostViewLimits& limits, size_t* budget,
                                                      bool* truncated) {
  ParagraphBuilder out(limits, budget, truncated);
  std::string href;    // of the open <a>, when safe
  std::string hidden;  // name of the element whose content is being dropped
  size_t hidden_depth = 0;
  size_t i = 0;
  while (i < html.size() && !out.full()) {
    if (html[i] != '<') {
      size_t next = html.find('<', i + 1);
      if (next == std::string_view::npos) next = html.size();
      if (hidden_depth == 0) out.Text(Decode(html.substr(i, next - i)), href);
      i = next;
      continue;
    }
    char c = i + 1 < html.size() ? html[i + 1] : '\0';
    if (c == '!' || c == '?' || (c == '/' && !(i + 2 < html.size() && IsAlpha(html[i + 2])))) {
      // Comments, doctypes, processing instructions, bogus end tags: dropped.
      if (html.substr(i, 4) == "<!--") {
        size_t close = html.find("-->", i + 4);
        i = close == std::string_view::npos ? html.size() : close + 3;
      } else {
        size_t close = html.find('>', i + 1);
        i = close == std::string_view::npos ? html.size() : close + 1;
      }
      continue;
    }
    if (!IsAlpha(c) && c != '/') {
      size_t next = html.find('<', i + 1);
      if (next == std::string_view::npos) next = html.size();
      if (hidden_depth == 0) out.Text(Decode(html.substr(i, next - i)), href);
      i = next;
      continue;
    }
    Tag tag;
    i = ReadTag(html, i, &tag);
    if (hidden_depth > 0) {
      if (tag.name == hidden) {
        if (tag.end) {
          --hidden_depth;
        } else if (!tag.self_closing) {
          ++hidden_depth;
        }
      }
      continue;
    }
    if (IsHiddenElement(tag.name)) {
      if (!tag.end && !tag.self_closing) {
        hidden = tag.name;
        hidden_depth = 1;
        // Raw text elements end only at their own end tag: skip straight to it.
        if (tag.name == "script" || tag.name == "style" || tag.name == "textarea" ||
            tag.name == "title" || tag.name == "xmp" || tag.name == "noembed" ||
            tag.name == "noframes" || tag.name == "iframe" || tag.name == "noscript") {
          std::string close = absl::StrCat("</", tag.name);
          size_t p = i;
          bool found = false;
          while (p < html.size()) {
            size_t lt = html.find("</", p);
            if (lt == std::string_view::npos) break;
            if (Lower(html.substr(lt, close.size())) == close) {
              size_t gt = html.find('>', lt);
              i = gt == std::string_view::npos ? html.size() : gt + 1;
              found = true;
              break;
            }
            p = lt + 2;
          }
          if (!found) i = html.size();
          hidden_depth = 0;
        }
      }
      continue;
    }
    if (tag.name == "br") {
      out.Break();
    } else if (IsBlockElement(tag.name)) {
      out.EndParagraph();
    } else if (tag.name == "a") {
      href = tag.end ? "" : SafeHttpUrl(Decode(tag.href), limits.max_url_bytes);
    }
  }
  return out.Finish();
}

PostView BuildPostView(std::string_view activity_json, const PostViewLimits& limits) {
  PostView view;
  if (activity_json.size() > limits.max_json_bytes) {
    view.error = absl::StrCat("the stored activity is ", activity_json.size(),
                              " bytes, more than the page renders (", limits.max_json_bytes, ")");
    return view;
  }
  dom::parser parser;
  if (parser.allocate(std::max<size_t>(activity_json.size(), 64), limits.max_json_depth) !=
      simdjson::SUCCESS) {
    view.error = "out of memory reading the activity";
    return view;
  }
  dom::element root;
  if (simdjson::error_code e = parser.parse(activity_json.data(), activity_json.size()).get(root);
      e != simdjson::SUCCESS) {
    view.error =
        absl::StrCat("the stored activity is not valid JSON: ", simdjson::error_message(e));
    return view;
  }
  dom::object activity;
  if (root.get_object().get(activity) != simdjson::SUCCESS) {
    view.error = "the stored activity is not a JSON object";
    return view;
  }
  dom::object object = activity;
  bool own_object = false;  // the activity has an embedded object (Create, Update, ...)
  dom::element inner;
  if (activity["object"].get(inner) == simdjson::SUCCESS) {
    dom::object o;
    if (inner.get_object().get(o) == simdjson::SUCCESS) {
      object = o;
      own_object = true;
    }
  }
  view.type = std::string(Utf8Prefix(text::SanitizeUtf8(Field(object, "type")), 64));
  view.id = SafeHttpUrl(Field(object, "id"), limits.max_url_bytes);
  dom::element url;
  if (object["url"].get(url) == simdjson::SUCCESS) view.url = UrlOf(url, limits);
  bool sensitive = false;
  view.sensitive = object["sensitive"].get_bool().get(sensitive) == simdjson::SUCCESS && sensitive;

  size_t budget = limits.max_text_bytes;
  view.summary = PlainField(Field(object, "summary", "summaryMap"), &budget, &view.truncated);
  view.name = PlainField(Field(object, "name", "nameMap"), &budget, &view.truncated);
  std::string_view content = Field(object, "content", "contentMap");
  if (content.empty() && !own_object) {
    // An Announce or a Like of a URI: show what it points at.
    if (activity["object"].get(inner) == simdjson::SUCCESS) {
      std::string target = UrlOf(inner, limits);
      if (!target.empty()) {
        view.paragraphs.push_back({PostInline{PostInline::Kind::kLink, target, target}});
      }
    }
  } else {
    view.paragraphs = HtmlToParagraphs(content, limits, &budget, &view.truncated);
  }

  dom::element attachments;
  if (object["attachment"].get(attachments) == simdjson::SUCCESS) {
    std::vector<dom::element> items;
    dom::array a;
    if (attachments.get_array().get(a) == simdjson::SUCCESS) {
      for (dom::element item : a) items.push_back(item);
    } else {
      items.push_back(attachments);
    }
    for (dom::element item : items) {
      dom::object o;
      if (item.get_object().get(o) != simdjson::SUCCESS) continue;
      if (view.attachments.size() >= limits.max_attachments) {
        view.truncated = true;
        break;
      }
      PostAttachment att;
      dom::element u;
      if (o["url"].get(u) == simdjson::SUCCESS) {
        att.url = UrlOf(u, limits);
      } else if (o["href"].get(u) == simdjson::SUCCESS) {
        att.url = UrlOf(u, limits);
      }
      att.media_type = std::string(Utf8Prefix(text::SanitizeUtf8(Field(o, "mediaType")), 128));
      bool cut = false;
      size_t name_budget = std::min<size_t>(budget, 1500);
      att.name = PlainField(Field(o, "name", "nameMap"), &name_budget, &cut);
      view.truncated |= cut;
      view.attachments.push_back(std::move(att));
    }
  }
  return view;
}

void WritePostView(const PostView& view, JsonOut& out) {
  out.BeginObject();
  out.Key("type");
  out.String(view.type);
  out.Key("id");
  out.String(view.id);
  out.Key("url");
  out.String(view.url);
  out.Key("name");
  out.String(view.name);
  out.Key("summary");
  out.String(view.summary);
  out.Key("sensitive");
  out.Bool(view.sensitive);
  out.Key("truncated");
  out.Bool(view.truncated);
  out.Key("error");
  out.String(view.error);
  out.Key("paragraphs");
  out.BeginArray();
  for (const std::vector<PostInline>& p : view.paragraphs) {
    out.BeginArray();
    for (const PostInline& in : p) {
      out.BeginObject();
      if (in.kind == PostInline::Kind::kBreak) {
        out.Key("br");
        out.Bool(true);
      } else {
        out.Key("text");
        out.String(in.text);
        if (in.kind == PostInline::Kind::kLink) {
          out.Key("href");
          out.String(in.href);
        }
      }
      out.EndObject();
    }
    out.EndArray();
  }
  out.EndArray();
  out.Key("attachments");
  out.BeginArray();
  for (const PostAttachment& a : view.attachments) {
    out.BeginObject();
    out.Key("url");
    out.String(a.url);
    out.Key("media_type");
    out.String(a.media_type);
    out.Key("name");
    out.String(a.name);
    out.EndObject();
  }
  out.EndArray();
  out.EndObject();
}

}  // namespace fedwall::service::http
