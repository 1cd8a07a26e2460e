// `fedwall review list|show|approve|remove`: the review queue of a running fedwalld
// (docs/cli.md). Flagged posts are written by strangers: everything taken from an activity or
// a flag is passed through TerminalSafe/Printable before it reaches the terminal.
#include <simdjson.h>

#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/fields/field_registry.h"
#include "engine/text/domain.h"
#include "engine/text/normalize.h"
#include "proto/convert/decision_json.h"
#include "tools/admin_client.h"
#include "tools/commands.h"
#include "tools/human_output.h"

namespace fedwall::tools {
namespace {

namespace v1 = fedwall::v1;
using Stub = v1::AdminService::Stub;

constexpr size_t kTerminalWidth = 80;
constexpr int32_t kMaxLimit = 1000;
// Bytes of context shown on each side of a matched span.
constexpr size_t kContextBytes = 40;
// Longest matched span shown whole.
constexpr size_t kMaxSpanBytes = 200;
// Longest post text shown (a flagged post may be huge); the rest is summarised.
constexpr size_t kMaxShownTextBytes = 16 << 10;
constexpr size_t kMaxShownAttachments = 20;
// Highlight of a matched span on a terminal: bold, reverse video.
constexpr char kHighlight[] = "\x1b[1;7m";

std::optional<v1::FlagStatus> ParseStatus(std::string_view s) {
  if (s == "pending") return v1::FLAG_STATUS_PENDING;
  if (s == "approved") return v1::FLAG_STATUS_APPROVED;
  if (s == "removed") return v1::FLAG_STATUS_REMOVED;
  if (s == "all") return v1::FLAG_STATUS_UNSPECIFIED;
  return std::nullopt;
}

std::string StatusName(v1::FlagStatus s) {
  switch (s) {
    case v1::FLAG_STATUS_PENDING:
      return "pending";
    case v1::FLAG_STATUS_APPROVED:
      return "approved";
    case v1::FLAG_STATUS_REMOVED:
      return "removed";
    default:
      return "unknown";
  }
}

const char* StatusColor(v1::FlagStatus s) {
  switch (s) {
    case v1::FLAG_STATUS_PENDING:
      return kYellow;
    case v1::FLAG_STATUS_APPROVED:
      return kGreen;
    default:
      return kRed;
  }
}

// 7.5 -> "7.5", 1 -> "1", 0.125 -> "0.125".
std::string FormatScore(double score) { return absl::StrFormat("%.4g", score); }

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string RuleList(const v1::Flag& flag) {
  std::vector<std::string> ids;
  for (const v1::RuleMatch& m : flag.matches()) ids.push_back(Printable(TerminalSafe(m.rule_id())));
  return absl::StrJoin(ids, ",");
}

// The Flag in proto3 JSON, one line, every field printed, with the key "activityJson"
// replaced by `replacement` (a `"key":value` text) or left out when `replacement` is empty.
// The flag's activity_json must be empty: its key then prints as "activityJson":"" and,
// since keys are printed unescaped and quotes inside values escaped, that text occurs once.
std::string FlagJson(v1::Flag flag, const std::string& replacement) {
  flag.clear_activity_json();
  std::string json = convert::MessageToJson(flag, /*pretty=*/false);
  const std::string key = "\"activityJson\":\"\"";
  size_t at = json.find(key);
  if (at == std::string::npos) return json;
  if (!replacement.empty()) {
    json.replace(at, key.size(), replacement);
  } else if (at > 0 && json[at - 1] == ',') {
    json.erase(at - 1, key.size() + 1);
  } else if (at + key.size() < json.size() && json[at + key.size()] == ',') {
    json.erase(at, key.size() + 1);
  } else {
    json.erase(at, key.size());
  }
  return json;
}
// What became of a delivery the inbox gateway holds: "held, 11h left to approve",
// "held, its deadline passed 2h ago", "delivered", "failed: ...".
std::string HeldSummary(const v1::HeldDelivery& held, absl::Time now) {
  const absl::Time deadline = ToTime(held.deliver_before());
  if (held.state() == "held") {
    return now < deadline
               ? absl::StrCat("held, ", FormatAge(deadline - now), " left to approve")
               : absl::StrCat("held, its deadline passed ", FormatAge(now - deadline), " ago");
  }
  if (held.detail().empty()) return Printable(TerminalSafe(held.state()));
  return absl::StrCat(Printable(TerminalSafe(held.state())), ": ",
                      Printable(TerminalSafe(held.detail())));
}


// ----- review list ----------------------------------------------------------------------------

void PrintTable(const v1::ListFlagsResponse& page, const ReviewListOptions& options,
                std::ostream& out) {
  const bool color = options.output.color;
  const bool with_status = options.status != "pending";
  size_t id_width = 2;
  for (const v1::Flag& f : page.flags()) id_width = std::max(id_width, DisplayWidth(f.id()));
  id_width = std::min<size_t>(id_width, 12);
  constexpr size_t kAge = 4, kScore = 6, kStatus = 8, kActor = 28, kGap = 2;
  size_t used = id_width + kGap + kAge + kGap + kScore + kGap + kActor + kGap;
  if (with_status) used += kStatus + kGap;
  const size_t rules_width =
      used < kTerminalWidth ? std::max<size_t>(kTerminalWidth - used, 10) : 10;

  std::string header =
      absl::StrCat(FitWidth("ID", id_width, true), "  ", FitWidth("AGE", kAge, true), "  ");
  if (with_status) absl::StrAppend(&header, FitWidth("STATUS", kStatus, true), "  ");
  absl::StrAppend(&header, FitWidth("SCORE", kScore, true), "  ", FitWidth("ACTOR", kActor, true),
                  "  RULES");
  out << Paint(color, kBold, header) << "\n";

  const absl::Time now = absl::Now();
  for (const v1::Flag& f : page.flags()) {
    std::string line =
        absl::StrCat(FitWidth(Printable(TerminalSafe(f.id())), id_width, true), "  ",
                     FitWidth(FormatAge(now - ToTime(f.created_at())), kAge, true), "  ");
    if (with_status) {
      absl::StrAppend(
          &line,
          Paint(color, StatusColor(f.status()), FitWidth(StatusName(f.status()), kStatus, true)),
          "  ");
    }
    std::string rules = RuleList(f);
    if (f.has_held() && f.held().state() == "held") {
      rules = absl::StrCat("[", HeldSummary(f.held(), now), "] ", rules);
    }
    absl::StrAppend(&line, FitWidth(FormatScore(f.score()), kScore, true), "  ",
                    FitWidth(ShortActor(f.actor()), kActor, true), "  ",
                    Paint(color, kCyan, FitWidth(rules, rules_width, false)));
    out << line << "\n";
  }
}

// The command that shows the next page: the same filters plus --page-token.
std::string NextPageCommand(const ReviewListOptions& options, const std::string& token) {
  std::string cmd = "fedwall review list";
  if (options.status != "pending") absl::StrAppend(&cmd, " --status ", options.status);
  if (!options.rule_id.empty()) absl::StrAppend(&cmd, " --rule ", Printable(options.rule_id));
  if (!options.domain.empty()) absl::StrAppend(&cmd, " --domain ", Printable(options.domain));
  if (options.limit != 20) absl::StrAppend(&cmd, " --limit ", options.limit);
  if (options.json) absl::StrAppend(&cmd, " --json");
  absl::StrAppend(&cmd, " --page-token ", Printable(token));
  return cmd;
}

// ----- review show ----------------------------------------------------------------------------

// What a reader sees of a post, read from the stored activity JSON.
struct Post {
  std::string summary;  // content warning (HTML turned into text)
  std::string text;     // the content (HTML turned into text)
  std::string url;      // the post's page or id
  std::string type;     // Note, Article, ...
  struct Attachment {
    std::string media_type;
    std::string url;
    std::string description;
  };
  std::vector<Attachment> attachments;
};

std::string_view StringOr(simdjson::dom::element e, std::string_view fallback = "") {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return s;
  return fallback;
}

// `key` of an object as a string, else the first string value of `key`Map ({"en": "..."}).
std::string LocalisedString(simdjson::dom::object o, std::string_view key) {
  simdjson::dom::element e;
  if (o.at_key(key).get(e) == simdjson::SUCCESS && e.is_string()) return std::string(StringOr(e));
  simdjson::dom::object map;
  if (o.at_key(std::string(key) + "Map").get_object().get(map) == simdjson::SUCCESS) {
    for (auto field : map) {
      if (field.value.is_string()) return std::string(StringOr(field.value));
    }
  }
  return "";
}

// A URL given as a string, a Link object's href, or an array of either (the first).
std::string UrlOf(simdjson::dom::element e) {
  if (e.is_string()) return std::string(StringOr(e));
  simdjson::dom::array a;
  if (e.get_array().get(a) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : a) {
      std::string u = UrlOf(item);
      if (!u.empty()) return u;
    }
    return "";
  }
  simdjson::dom::object o;
  if (e.get_object().get(o) == simdjson::SUCCESS) {
    simdjson::dom::element href;
    if (o.at_key("href").get(href) == simdjson::SUCCESS) return std::string(StringOr(href));
  }
  return "";
}

bool IsActorType(std::string_view type) {
  return type == "Person" || type == "Service" || type == "Application" || type == "Group" ||
         type == "Organization";
}

std::string_view TypeOf(simdjson::dom::object o) {
  simdjson::dom::element t;
  if (o.at_key("type").get(t) != simdjson::SUCCESS) return "";
  if (t.is_string()) return StringOr(t);
  simdjson::dom::array a;
  if (t.get_array().get(a) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : a) {
      if (item.is_string()) return StringOr(item);
    }
  }
  return "";
}

// The post of an activity: its embedded object (unwrapping Announce of an activity), or the
// document itself when it is a bare object or an activity whose object is not embedded.
bool ReadPost(simdjson::dom::element root, Post* post) {
  simdjson::dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) return false;
  for (int depth = 0; depth < 8; ++depth) {
    simdjson::dom::element object;
    if (o.at_key("object").get(object) != simdjson::SUCCESS) break;
    simdjson::dom::array a;
    if (object.get_array().get(a) == simdjson::SUCCESS) {
      if (a.at(0).get(object) != simdjson::SUCCESS) break;
    }
    simdjson::dom::object inner;
    if (object.get_object().get(inner) != simdjson::SUCCESS || IsActorType(TypeOf(inner))) break;
    o = inner;
  }
  post->type = std::string(TypeOf(o));
  post->summary = text::HtmlToText(LocalisedString(o, "summary"));
  post->text = text::HtmlToText(LocalisedString(o, "content"));
  if (post->text.empty()) post->text = text::HtmlToText(LocalisedString(o, "name"));
  simdjson::dom::element url;
  if (o.at_key("url").get(url) == simdjson::SUCCESS) post->url = UrlOf(url);
  if (post->url.empty() && o.at_key("id").get(url) == simdjson::SUCCESS) post->url = UrlOf(url);

  simdjson::dom::element attachment;
  if (o.at_key("attachment").get(attachment) == simdjson::SUCCESS) {
    std::vector<simdjson::dom::element> items;
    simdjson::dom::array a;
    if (attachment.get_array().get(a) == simdjson::SUCCESS) {
      for (simdjson::dom::element item : a) items.push_back(item);
    } else {
      items.push_back(attachment);
    }
    for (simdjson::dom::element item : items) {
      Post::Attachment att;
      simdjson::dom::object ao;
      if (item.get_object().get(ao) == simdjson::SUCCESS) {
        simdjson::dom::element e;
        if (ao.at_key("mediaType").get(e) == simdjson::SUCCESS) att.media_type = StringOr(e);
        if (att.media_type.empty()) att.media_type = std::string(TypeOf(ao));
        if (ao.at_key("url").get(e) == simdjson::SUCCESS) att.url = UrlOf(e);
        if (att.url.empty() && ao.at_key("href").get(e) == simdjson::SUCCESS) att.url = UrlOf(e);
        if (ao.at_key("name").get(e) == simdjson::SUCCESS) att.description = StringOr(e);
      } else {
        att.url = UrlOf(item);
      }
      if (!att.url.empty() || !att.description.empty()) post->attachments.push_back(att);
    }
  }
  return true;
}

// `text` (already TerminalSafe) wrapped at `width` code points, each line indented.
void PrintWrapped(std::string_view text, const std::string& indent, size_t width,
                  std::ostream& out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.empty()) out << "\n";
    while (!line.empty()) {
      // Cut after `width` code points, at the last space before that when there is one.
      size_t count = 0;
      size_t cut = line.size();
      size_t last_space = std::string_view::npos;
      for (size_t i = 0; i < line.size(); ++i) {
        if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
        if (count == width) {
          cut = i;
          break;
        }
        if (line[i] == ' ') last_space = i;
        ++count;
      }
      if (cut < line.size() && last_space != std::string_view::npos && last_space > 0) {
        cut = last_space;
      }
      out << indent << line.substr(0, cut) << "\n";
      line.remove_prefix(cut);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    }
    if (end == text.size()) break;
    start = end + 1;
  }
}

size_t CharStartBefore(std::string_view s, size_t pos) {
  while (pos > 0 && pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}
size_t CharStartAfter(std::string_view s, size_t pos) {
  while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
  return pos;
}

std::string Marked(std::string_view span, bool color) {
  return color ? Paint(true, kHighlight, span) : "[[" + std::string(span) + "]]";
}

// "…claim your [[free crypto]] now…": the span [start, end) of the unfolded field text with
// up to kContextBytes on each side.
std::string SpanInContext(std::string_view field_text, uint32_t start, uint32_t end, bool color) {
  size_t s = CharStartBefore(field_text, start);
  size_t e = CharStartAfter(field_text, std::max<size_t>(end, s));
  size_t from = s > kContextBytes ? CharStartBefore(field_text, s - kContextBytes) : 0;
  size_t to = CharStartAfter(field_text, std::min(field_text.size(), e + kContextBytes));
  std::string out = from > 0 ? "\u2026" : "";
  absl::StrAppend(&out, Printable(TerminalSafe(field_text.substr(from, s - from))));
  std::string span;
  if (e - s > kMaxSpanBytes) {
    span = Printable(TerminalSafe(
               field_text.substr(s, CharStartBefore(field_text, s + kMaxSpanBytes) - s))) +
           "\u2026";
  } else {
    span = Printable(TerminalSafe(field_text.substr(s, e - s)));
  }
  absl::StrAppend(&out, Marked(span, color));
  absl::StrAppend(&out, Printable(TerminalSafe(field_text.substr(e, to - e))));
  if (to < field_text.size()) absl::StrAppend(&out, "\u2026");
  return out;
}

void PrintFlag(const v1::Flag& flag, const ReviewShowOptions& options, std::ostream& out,
               std::ostream& err) {
  const bool color = options.output.color;
  const absl::Time now = absl::Now();
  out << Paint(color, kBold, absl::StrCat("Flag ", Printable(TerminalSafe(flag.id())))) << "  "
      << Paint(color, StatusColor(flag.status()), StatusName(flag.status())) << "  score "
      << FormatScore(flag.score()) << "\n";
  out << "Actor    " << ShortActor(flag.actor()) << "  "
      << Paint(color, kDim, Printable(TerminalSafe(flag.actor()))) << "\n";
  out << "Flagged  " << FormatTimestamp(flag.created_at()) << " ("
      << FormatAge(now - ToTime(flag.created_at())) << " ago)\n";
  if (flag.status() != v1::FLAG_STATUS_PENDING) {
    out << "Resolved " << FormatTimestamp(flag.resolved_at());
    if (!flag.moderator().empty()) out << " by " << Printable(TerminalSafe(flag.moderator()));
    out << "\n";
  }
  if (!flag.note().empty()) out << "Note     " << Printable(TerminalSafe(flag.note())) << "\n";
  if (flag.has_held()) {
    // The inbox gateway holds the delivery: approving delivers it, before the deadline only.
    out << "Held     " << HeldSummary(flag.held(), now) << "\n";
    out << "         deliver before " << FormatTimestamp(flag.held().deliver_before())
        << " (the sender's signature expires; after it an approval does not deliver)\n";
  }

  // The post as a reader sees it.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  Post post;
  const std::string& json = flag.activity_json();
  if (json.empty() || parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS ||
      !ReadPost(root, &post)) {
    err << "fedwall review show: the stored activity of flag " << Printable(flag.id())
        << " is not a JSON object; only the flag is shown\n";
  } else {
    if (!post.url.empty()) out << "Post     " << Printable(TerminalSafe(post.url)) << "\n";
    out << "\n";
    const std::string indent = "  ";
    const size_t width = kTerminalWidth - indent.size() - 2;
    if (!post.summary.empty()) {
      out << indent << Paint(color, kBoldYellow, "Content warning:") << "\n";
      PrintWrapped(TerminalSafe(post.summary), indent + "  ", width - 2, out);
      out << "\n";
    }
    std::string text = TerminalSafe(post.text);
    if (text.size() > kMaxShownTextBytes) {
      size_t cut = CharStartBefore(text, kMaxShownTextBytes);
      size_t rest = text.size() - cut;
      text.resize(cut);
      absl::StrAppend(&text, "\n[", rest, " more bytes not shown]");
    }
    if (text.empty())
      text = absl::StrCat("(no text", post.type.empty() ? "" : "; a ",
                          Printable(TerminalSafe(post.type)), ")");
    PrintWrapped(text, indent, width, out);
    if (!post.attachments.empty()) {
      out << "\n" << indent << Paint(color, kBold, "Attachments:") << "\n";
      size_t shown = 0;
      for (const Post::Attachment& a : post.attachments) {
        if (shown++ == kMaxShownAttachments) {
          out << indent << "  \u2026 and " << post.attachments.size() - kMaxShownAttachments
              << " more\n";
          break;
        }
        std::string line = absl::StrCat(
            indent, "  ",
            a.media_type.empty() ? ""
                                 : absl::StrCat("[", Printable(TerminalSafe(a.media_type)), "] "),
            Printable(TerminalSafe(a.url)));
        if (!a.description.empty()) {
          absl::StrAppend(&line, "  \"", Printable(TerminalSafe(a.description)), "\"");
        }
        out << line << "\n";
      }
    }
  }

  // The rules that fired, with their evidence in the engine's unfolded field text.
  out << "\n" << Paint(color, kBold, "Rules") << "\n";
  if (flag.matches().empty()) out << "  (none stored)\n";
  ActivityParser activity_parser;
  absl::StatusOr<Activity> activity = activity_parser.Parse(json);
  RequestFacts facts;
  for (const v1::RuleMatch& m : flag.matches()) {
    std::string head = absl::StrCat("  ", Paint(color, kBold, Printable(TerminalSafe(m.rule_id()))),
                                    "  score ", FormatScore(m.score()));
    if (m.monitor()) absl::StrAppend(&head, "  ", Paint(color, kMagenta, "[monitor]"));
    out << head << "\n";
    if (!m.reason().empty()) out << "      " << Printable(TerminalSafe(m.reason())) << "\n";
    for (const v1::Evidence& e : m.evidence()) {
      const text::NormalizedText* field_text = nullptr;
      const FieldDef* def = FindField(e.field());
      if (activity.ok() && def != nullptr && def->text != nullptr) {
        FieldInput input{*activity, facts, ToTime(flag.created_at()), nullptr};
        field_text = def->text(input);
      }
      const std::string field = Printable(TerminalSafe(e.field()));
      if (field_text != nullptr && e.end() > e.start() && e.end() <= field_text->unfolded.size()) {
        out << "      " << Paint(color, kDim, field) << "  "
            << SpanInContext(field_text->unfolded, e.start(), e.end(), color) << "\n";
      } else if (e.end() > e.start()) {
        out << "      " << Paint(color, kDim, field) << "  "
            << Marked(Printable(TerminalSafe(e.text())), color) << "\n";
      } else {
        out << "      " << Printable(TerminalSafe(e.text())) << "\n";
      }
    }
  }
}

// The moderator's name: --as, else FEDWALL_MODERATOR, else USER.
std::string Moderator(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* name : {"FEDWALL_MODERATOR", "USER"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "";
}

}  // namespace

int RunReviewList(const ReviewListOptions& options, std::ostream& out, std::ostream& err) {
  std::optional<v1::FlagStatus> status = ParseStatus(options.status);
  if (!status) {
    err << "fedwall review list: --status: \"" << Printable(options.status)
        << "\" is not one of pending, approved, removed, all\n";
    return 2;
  }
  if (options.limit < 1 || options.limit > kMaxLimit) {
    err << "fedwall review list: --limit: " << options.limit << " is outside 1.." << kMaxLimit
        << "\n";
    return 2;
  }
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("review list", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;

  v1::ListFlagsRequest request;
  request.set_status(*status);
  request.set_rule_id(options.rule_id);
  request.set_domain(options.domain);
  request.set_page_size(options.limit);
  request.set_page_token(options.page_token);
  v1::ListFlagsResponse page;
  if (absl::Status s = client->Call(&Stub::ListFlags, request, &page); !s.ok()) {
    err << "fedwall review list: " << StatusLine(s) << "\n";
    return 1;
  }
  if (options.json) {
    for (const v1::Flag& f : page.flags()) out << FlagJson(f, "") << "\n";
    if (!page.next_page_token().empty()) {
      err << "fedwall review list: more flags: " << NextPageCommand(options, page.next_page_token())
          << "\n";
    }
    return 0;
  }
  if (page.flags().empty()) {
    out << (options.page_token.empty() ? "no " : "no more ")
        << (options.status == "all" ? std::string() : options.status + " ") << "flags"
        << (options.rule_id.empty() && options.domain.empty() ? "" : " matching the filters")
        << "\n";
    return 0;
  }
  PrintTable(page, options, out);
  if (!page.next_page_token().empty()) {
    out << Paint(options.output.color, kDim,
                 absl::StrCat("more: ", NextPageCommand(options, page.next_page_token())))
        << "\n";
  }
  return 0;
}

int RunReviewShow(const ReviewShowOptions& options, std::ostream& out, std::ostream& err) {
  if (options.id.empty()) {
    err << "fedwall review show: give the flag's ID\n";
    return 2;
  }
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("review show", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  v1::GetFlagRequest request;
  request.set_id(options.id);
  v1::Flag flag;
  if (absl::Status s = client->Call(&Stub::GetFlag, request, &flag); !s.ok()) {
    err << "fedwall review show: " << StatusLine(s) << "\n";
    return 1;
  }
  if (options.json) {
    // The stored activity decoded under "activity", minified so the object stays on one line.
    std::string activity = "null";
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const std::string& json = flag.activity_json();
    if (!json.empty() && parser.parse(json.data(), json.size()).get(root) == simdjson::SUCCESS) {
      activity = simdjson::minify(root);
    } else if (!json.empty()) {
      err << "fedwall review show: the stored activity of flag " << Printable(flag.id())
          << " is not valid JSON; \"activity\" is null\n";
    }
    out << FlagJson(flag, absl::StrCat("\"activity\":", activity)) << "\n";
    return 0;
  }
  PrintFlag(flag, options, out, err);
  return 0;
}

int RunReviewResolve(const ReviewResolveOptions& options, std::ostream& out, std::ostream& err) {
  const std::string command = options.remove ? "review remove" : "review approve";
  if (options.id.empty()) {
    err << "fedwall " << command << ": give the flag's ID\n";
    return 2;
  }
  if (options.block_domain && !options.remove) {
    err << "fedwall " << command << ": --block-domain goes with `review remove`\n";
    return 2;
  }
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport(command, options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  v1::ResolveFlagRequest request;
  request.set_id(options.id);
  request.set_resolution(options.remove ? v1::FLAG_STATUS_REMOVED : v1::FLAG_STATUS_APPROVED);
  request.set_note(options.note);
  request.set_moderator(Moderator(options.moderator));
  request.set_block_domain(options.block_domain);
  v1::Flag flag;
  if (absl::Status s = client->Call(&Stub::ResolveFlag, request, &flag); !s.ok()) {
    err << "fedwall " << command << ": " << StatusLine(s) << "\n";
    return 1;
  }
  std::string line = absl::StrCat("flag ", Printable(TerminalSafe(flag.id())), " ",
                                  options.remove ? "removed" : "approved");
  if (!flag.moderator().empty()) {
    absl::StrAppend(&line, " by ", Printable(TerminalSafe(flag.moderator())));
  }
  absl::StrAppend(&line, " (", ShortActor(flag.actor()), ")");
  if (flag.has_held()) {
    absl::StrAppend(&line, "; held delivery: ", HeldSummary(flag.held(), absl::Now()));
  }
  if (options.block_domain) {
    std::string domain = text::DomainOfUrl(flag.actor());
    absl::StrAppend(&line, "; blocked domain ",
                    domain.empty() ? std::string("of the actor") : Printable(domain),
                    " (suspend, or the stronger block it already had)");
  }
  out << line << "\n";
  return 0;
}

}  // namespace fedwall::tools
