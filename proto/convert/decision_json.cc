#include "proto/convert/decision_json.h"

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <utility>

#include "engine/lang/ast.h"

namespace fedwall::convert {
namespace {

double FromMilli(int64_t milli) { return static_cast<double>(milli) / 1000.0; }

// Protobuf refuses to print a string field that is not valid UTF-8 as JSON; evidence is cut
// at a byte limit, so make sure every string is valid (invalid bytes become U+FFFD).
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len > 1) {
      uint32_t cp = c & (0x7F >> len);
      for (size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace

fedwall::v1::Verdict VerdictToProto(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAccept:
      return fedwall::v1::VERDICT_ACCEPT;
    case Verdict::kFlag:
      return fedwall::v1::VERDICT_FLAG;
    case Verdict::kReject:
      return fedwall::v1::VERDICT_REJECT;
  }
  return fedwall::v1::VERDICT_UNSPECIFIED;
}

fedwall::v1::EvaluateResponse DecisionToProto(const Decision& decision,
                                              std::string_view request_id) {
  static constexpr std::pair<uint8_t, fedwall::v1::Effect> kEffects[] = {
      {lang::kStripMedia, fedwall::v1::EFFECT_STRIP_MEDIA},
      {lang::kMarkSensitive, fedwall::v1::EFFECT_MARK_SENSITIVE},
      {lang::kUnlist, fedwall::v1::EFFECT_UNLIST},
      {lang::kFollowersOnly, fedwall::v1::EFFECT_FOLLOWERS_ONLY},
  };
  fedwall::v1::EvaluateResponse r;
  r.set_request_id(std::string(request_id));
  r.set_verdict(VerdictToProto(decision.verdict));
  for (const auto& [bit, effect] : kEffects) {
    if ((decision.effects & bit) != 0) r.add_effects(effect);
  }
  r.set_score(FromMilli(decision.score_milli));
  for (const RuleMatch& m : decision.matches) {
    fedwall::v1::RuleMatch* pm = r.add_matches();
    pm->set_rule_id(ValidUtf8(m.rule_id));
    pm->set_reason(ValidUtf8(m.reason));
    pm->set_score(FromMilli(m.score_milli));
    pm->set_monitor(m.monitor);
    for (const Evidence& e : m.evidence) {
      fedwall::v1::Evidence* pe = pm->add_evidence();
      pe->set_field(ValidUtf8(e.field));
      pe->set_text(ValidUtf8(e.text));
      pe->set_start(e.start);
      pe->set_end(e.end);
    }
  }
  r.set_policy_version(decision.policy_version);
  return r;
}

std::string MessageToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  options.always_print_enums_as_ints = false;
  options.preserve_proto_field_names = false;
  std::string json;
  // Printing a well-formed message cannot fail (invalid UTF-8 in strings is the only error
  // source, and the engine's strings are valid UTF-8); fall back to an empty object anyway.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

std::string DecisionToJson(const Decision& decision, bool pretty, std::string_view request_id) {
  return MessageToJson(DecisionToProto(decision, request_id), pretty);
}

}  // namespace fedwall::convert
