// JsonOut: a small streaming JSON writer for the review page's API answers.
//
// Strings are escaped per RFC 8259; invalid UTF-8 is replaced by U+FFFD, and '<', '>', '&',
// U+2028 and U+2029 are written as \u escapes as well, so that the output stays inert even if
// some client were to put it into HTML or a script. Keys come out in the order written.
//
// Example:
//   JsonOut j;
//   j.BeginObject();
//   j.Key("error"); j.String("flag 12 not found");
//   j.EndObject();
//   res.set_content(j.str(), "application/json");   // {"error":"flag 12 not found"}
//
// Not thread-safe; one writer per answer.
#ifndef FEDWALL_SERVICE_HTTP_JSON_H_
#define FEDWALL_SERVICE_HTTP_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fedwall::service::http {

class JsonOut {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view value);
  void Int(int64_t value);
  // Finite values with up to 17 significant digits; NaN and infinities as null.
  void Double(double value);
  void Bool(bool value);
  void Null();

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();
  void Escape(std::string_view s);

  std::string out_;
  std::vector<uint32_t> counts_;  // values written in each open container
  bool after_key_ = false;
};

// {"error": message} as a string.
std::string JsonError(std::string_view message);

}  // namespace fedwall::service::http

#endif  // FEDWALL_SERVICE_HTTP_JSON_H_
