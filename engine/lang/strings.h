// String helpers for the front end (internal).
//
// Debian's abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so absl::StrCat does not
// take std::string_view. Cat/Append forward to absl::StrCat/StrAppend, converting
// std::string_view arguments; Join joins any range of string-like values.
//
// Thread-safe (pure functions).
//
// Example:
//   std::string_view field = "mentions.count";
//   std::string m = Cat("unknown field '", field, "'");
#ifndef FEDWALL_ENGINE_LANG_STRINGS_H_
#define FEDWALL_ENGINE_LANG_STRINGS_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fedwall::lang {

template <typename T>
decltype(auto) ToAlphaNum(const T& value) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return absl::string_view(value.data(), value.size());
  } else {
    return (value);
  }
}

template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(ToAlphaNum(args)...);
}

template <typename... Args>
void Append(std::string* out, const Args&... args) {
  absl::StrAppend(out, ToAlphaNum(args)...);
}

template <typename Range>
std::string Join(const Range& range, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& item : range) {
    if (!first) out.append(separator);
    first = false;
    out.append(std::string_view(item));
  }
  return out;
}

}  // namespace fedwall::lang

#endif  // FEDWALL_ENGINE_LANG_STRINGS_H_
