// The JSON formats: mastodon_api_json, gotosocial_json and rapidblock_json.
//
// The document is first parsed whole with simdjson's DOM parser, with a depth limit: that
// refuses anything that is not JSON (truncated, deeply nested, bad UTF-8) before a single
// entry is read, and tells the shape apart. The entries are then read with the On-Demand
// API, which points into the input, so every item gets the line where it starts.
#include <simdjson.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/blocklist/parse_internal.h"

namespace fedwall::blocklist::internal {
namespace {

namespace od = simdjson::ondemand;

absl::Status JsonError(simdjson::error_code error) {
  return absl::InvalidArgumentError(
      absl::StrCat("not a readable JSON document: ", simdjson::error_message(error)));
}

// Line numbers of byte offsets, for offsets met in increasing order (recounts otherwise).
class LineCounter {
 public:
  explicit LineCounter(std::string_view data) : data_(data) {}
  uint32_t At(size_t offset) {
    if (offset > data_.size()) offset = data_.size();
    if (offset < offset_) {
      offset_ = 0;
      line_ = 1;
    }
    for (size_t i = offset_; i < offset; ++i) {
      if (data_[i] == '\n') ++line_;
    }
    offset_ = offset;
    return line_;
  }

 private:
  std::string_view data_;
  size_t offset_ = 0;
  uint32_t line_ = 1;
};

// A string, or "" for null; nullopt for any other type.
std::optional<std::string> StringOf(od::value& value) {
  od::json_type type;
  if (value.type().get(type)) return std::nullopt;
  if (type == od::json_type::null) return std::string();
  std::string_view s;
  if (type != od::json_type::string || value.get_string().get(s)) return std::nullopt;
  return std::string(s);
}

// A boolean, or a string ParseBool reads, or false for null; nullopt otherwise.
std::optional<bool> BoolOf(od::value& value) {
  od::json_type type;
  if (value.type().get(type)) return std::nullopt;
  if (type == od::json_type::null) return false;
  if (type == od::json_type::boolean) {
    bool b = false;
    if (value.get_bool().get(b)) return std::nullopt;
    return b;
  }
  if (type == od::json_type::string) {
    std::string_view s;
    if (value.get_string().get(s)) return std::nullopt;
    return ParseBool(s);
  }
  return std::nullopt;
}

// One item of a Mastodon (public or admin API) or GoToSocial array. Returns an error only
// when the document cannot be walked further.
absl::Status ReadArrayItem(od::value& item, uint32_t line, RowSink& sink) {
  od::json_type type;
  if (auto error = item.type().get(type)) return JsonError(error);
  if (type != od::json_type::object) {
    sink.Warn(line, "array item is not an object; skipped");
    return absl::OkStatus();
  }
  od::object object;
  if (auto error = item.get_object().get(object)) return JsonError(error);
  Entry entry;
  entry.severity = sink.options().default_severity;
  std::optional<std::string> domain, digest;
  std::string problem;
  for (auto field_result : object) {
    od::field field;
    if (auto error = std::move(field_result).get(field)) return JsonError(error);
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return JsonError(error);
    od::value value = field.value();
    if (key == "domain") {
      domain = StringOf(value);
      if (!domain) problem = "\"domain\" is not a string";
    } else if (key == "digest") {
      digest = StringOf(value);
    } else if (key == "severity") {
      std::optional<std::string> s = StringOf(value);
      std::optional<Severity> severity;
      if (s && !s->empty()) severity = ParseSeverity(*s);
      if (s && s->empty()) severity = sink.options().default_severity;
      if (!severity) {
        problem = absl::StrCat("unknown severity ", s ? Quote(*s) : "(not a string)");
      } else {
        entry.severity = *severity;
      }
    } else if (key == "reject_media" || key == "reject_reports") {
      std::optional<bool> b = BoolOf(value);
      if (!b) {
        sink.Warn(line, absl::StrCat("unreadable ", std::string(key), ", read as false"));
      }
      (key == "reject_media" ? entry.reject_media : entry.reject_reports) = b.value_or(false);
    } else if (key == "public_comment" || key == "comment") {
      entry.public_comment = StringOf(value).value_or("");
    } else if (key == "private_comment") {
      entry.private_comment = StringOf(value).value_or("");
    }
  }
  if (problem.empty() && !domain && !digest) problem = "no \"domain\"";
  if (!problem.empty()) {
    sink.Warn(line, absl::StrCat(problem, "; item skipped"));
    return absl::OkStatus();
  }
  sink.Add(line, domain.value_or(""), digest.value_or(""), std::move(entry));
  return absl::OkStatus();
}

absl::Status ReadArray(od::document& doc, const char* base, LineCounter& lines, RowSink& sink) {
  od::array array;
  if (auto error = doc.get_array().get(array)) return JsonError(error);
  for (auto item_result : array) {
    if (sink.full()) break;
    od::value item;
    if (auto error = std::move(item_result).get(item)) return JsonError(error);
    uint32_t line = lines.At(static_cast<size_t>(item.raw_json_token().data() - base));
    if (absl::Status s = ReadArrayItem(item, line, sink); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// One "domain": {"isBlocked": ..., "reason": ..., "tags": [...]} of a RapidBlock list.
absl::Status ReadRapidblockItem(std::string_view domain, od::value& item, uint32_t line,
                                RowSink& sink) {
  od::json_type type;
  if (auto error = item.type().get(type)) return JsonError(error);
  if (type != od::json_type::object) {
    sink.Warn(line, absl::StrCat("block of ", Quote(domain), " is not an object; skipped"));
    return absl::OkStatus();
  }
  od::object object;
  if (auto error = item.get_object().get(object)) return JsonError(error);
  std::optional<bool> blocked;
  std::string reason;
  std::vector<std::string> tags;
  for (auto field_result : object) {
    od::field field;
    if (auto error = std::move(field_result).get(field)) return JsonError(error);
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return JsonError(error);
    od::value value = field.value();
    if (key == "isBlocked") {
      blocked = BoolOf(value);
    } else if (key == "reason") {
      reason = StringOf(value).value_or("");
    } else if (key == "tags") {
      od::array array;
      if (value.get_array().get(array)) continue;
      for (auto tag_result : array) {
        od::value tag;
        if (auto error = std::move(tag_result).get(tag)) return JsonError(error);
        if (std::optional<std::string> s = StringOf(tag); s && !s->empty()) {
          tags.push_back(*std::move(s));
        }
      }
    }
  }
  if (!blocked) {
    sink.Warn(line,
              absl::StrCat("block of ", Quote(domain), " has no boolean \"isBlocked\"; skipped"));
    return absl::OkStatus();
  }
  if (!*blocked) return absl::OkStatus();  // a decision not to block
  Entry entry;
  entry.severity = Severity::kSuspend;
  entry.public_comment = reason;
  if (!tags.empty()) {
    absl::StrAppend(&entry.public_comment, reason.empty() ? "" : " ", "[",
                    absl::StrJoin(tags, ", "), "]");
  }
  sink.Add(line, domain, {}, std::move(entry));
  return absl::OkStatus();
}

absl::Status ReadRapidblock(od::document& doc, const char* base, LineCounter& lines,
                            RowSink& sink) {
  od::object root;
  if (auto error = doc.get_object().get(root)) return JsonError(error);
  for (auto field_result : root) {
    od::field field;
    if (auto error = std::move(field_result).get(field)) return JsonError(error);
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return JsonError(error);
    if (key != "blocks") continue;
    od::object blocks;
    if (field.value().get_object().get(blocks)) {
      return absl::InvalidArgumentError("rapidblock_json: \"blocks\" is not an object");
    }
    for (auto block_result : blocks) {
      if (sink.full()) break;
      od::field block;
      if (auto error = std::move(block_result).get(block)) return JsonError(error);
      // The key's position first: unescaping consumes it.
      uint32_t line = lines.At(static_cast<size_t>(block.key().raw() - base));
      std::string_view domain;
      if (auto error = block.unescaped_key().get(domain)) return JsonError(error);
      std::string domain_copy(domain);
      od::value value = block.value();
      if (absl::Status s = ReadRapidblockItem(domain_copy, value, line, sink); !s.ok()) {
        return s;
      }
    }
    break;
  }
  return absl::OkStatus();
}

// The shape of a parsed document; kDetect when it is none of ours.
Format ShapeOf(const simdjson::dom::element& root) {
  simdjson::dom::array array;
  if (root.get_array().get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : array) {
      simdjson::dom::object object;
      if (item.get_object().get(object) != simdjson::SUCCESS) continue;
      if (object["severity"].error() == simdjson::SUCCESS) return Format::kMastodonApiJson;
      if (object["domain"].error() == simdjson::SUCCESS) return Format::kGotosocialJson;
    }
    return Format::kMastodonApiJson;  // empty, or no item we can read: no entries either way
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) == simdjson::SUCCESS &&
      (object["blocks"].error() == simdjson::SUCCESS ||
       object["@spec"].error() == simdjson::SUCCESS)) {
    return Format::kRapidblockJson;
  }
  return Format::kDetect;
}

}  // namespace

absl::StatusOr<Format> ReadJson(std::string_view data, Format format, RowSink& sink) {
  const size_t depth = std::max<size_t>(sink.options().max_json_depth, 1);
  simdjson::padded_string padded(data);
  Format shape = Format::kDetect;
  {
    simdjson::dom::parser dom;
    if (auto error = dom.allocate(padded.size(), depth)) return JsonError(error);
    simdjson::dom::element root;
    if (auto error = dom.parse(padded).get(root)) {
      if (error == simdjson::DEPTH_ERROR) {
        return absl::InvalidArgumentError(
            absl::StrCat("JSON nested deeper than max_json_depth (", depth, ")"));
      }
      return JsonError(error);
    }
    shape = ShapeOf(root);
  }
  if (format == Format::kDetect) {
    if (shape == Format::kDetect) {
      return absl::InvalidArgumentError(
          "unknown blocklist format: JSON that is neither an array of domain blocks nor a "
          "RapidBlock document");
    }
    format = shape;
  }
  const bool want_array = format != Format::kRapidblockJson;
  const bool is_array = shape == Format::kMastodonApiJson || shape == Format::kGotosocialJson;
  if (want_array != is_array) {
    return absl::InvalidArgumentError(
        absl::StrCat(FormatName(format), " expects ",
                     want_array ? "a JSON array of objects" : "a JSON object with \"blocks\""));
  }

  od::parser parser;
  if (auto error = parser.allocate(padded.size(), depth)) return JsonError(error);
  od::document doc;
  if (auto error = parser.iterate(padded).get(doc)) return JsonError(error);
  LineCounter lines(data);
  absl::Status status = want_array ? ReadArray(doc, padded.data(), lines, sink)
                                   : ReadRapidblock(doc, padded.data(), lines, sink);
  if (!status.ok()) return status;
  return format;
}

}  // namespace fedwall::blocklist::internal
