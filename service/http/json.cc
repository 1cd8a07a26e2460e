#include "service/http/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "engine/text/normalize.h"

namespace fedwall::service::http {

void JsonOut::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!counts_.empty() && counts_.back()++ > 0) out_ += ',';
}

void JsonOut::BeginObject() {
  BeforeValue();
  out_ += '{';
  counts_.push_back(0);
}

void JsonOut::EndObject() {
  counts_.pop_back();
  out_ += '}';
}

void JsonOut::BeginArray() {
  BeforeValue();
  out_ += '[';
  counts_.push_back(0);
}

void JsonOut::EndArray() {
  counts_.pop_back();
  out_ += ']';
}

void JsonOut::Key(std::string_view key) {
  BeforeValue();
  Escape(key);
  out_ += ':';
  after_key_ = true;
}

void JsonOut::String(std::string_view value) {
  BeforeValue();
  Escape(value);
}

void JsonOut::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
}

void JsonOut::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_ += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  // Shorter when the value round-trips with fewer digits (0.1 rather than 0.10000000000000001).
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) {
      out_ += shorter;
      return;
    }
  }
  out_ += buf;
}

void JsonOut::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
}

void JsonOut::Null() {
  BeforeValue();
  out_ += "null";
}

void JsonOut::Escape(std::string_view raw) {
  std::string valid;
  std::string_view s = raw;
  if (!text::IsValidUtf8(raw)) {
    valid = text::SanitizeUtf8(raw);
    s = valid;
  }
  out_ += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out_ += "\\\"";
        continue;
      case '\\':
        out_ += "\\\\";
        continue;
      case '\n':
        out_ += "\\n";
        continue;
      case '\r':
        out_ += "\\r";
        continue;
      case '\t':
        out_ += "\\t";
        continue;
      case '<':
        out_ += "\\u003c";
        continue;
      case '>':
        out_ += "\\u003e";
        continue;
      case '&':
        out_ += "\\u0026";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out_ += buf;
      continue;
    }
    // U+2028 and U+2029 (E2 80 A8 / E2 80 A9): line terminators in older JavaScript.
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
         static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      out_ += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
      continue;
    }
    out_ += static_cast<char>(c);
  }
  out_ += '"';
}

std::string JsonError(std::string_view message) {
  JsonOut j;
  j.BeginObject();
  j.Key("error");
  j.String(message);
  j.EndObject();
  return j.str();
}

}  // namespace fedwall::service::http
