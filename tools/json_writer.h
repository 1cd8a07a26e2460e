// JsonWriter: a small streaming JSON writer for the command line's machine-readable output.
//
// Keys come out in the order written (the field registry's order, the contract's order), which
// a map-based JSON library would not keep. Strings are escaped per RFC 8259; invalid UTF-8 is
// replaced by U+FFFD so the output is always valid JSON.
//
// Example:
//   JsonWriter w(/*pretty=*/false);
//   w.BeginObject();
//   w.Key("domain"); w.String("example.com");
//   w.Key("matched"); w.Null();
//   w.EndObject();
//   std::cout << w.str() << "\n";     // {"domain":"example.com","matched":null}
//
// Not thread-safe; one writer per output.
#ifndef FEDWALL_TOOLS_JSON_WRITER_H_
#define FEDWALL_TOOLS_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fedwall::tools {

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = false) : pretty_(pretty) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view value);
  // Integral values print without a fraction; others with up to 17 significant digits.
  void Number(double value);
  void Bool(bool value);
  void Null();

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();
  void Newline();
  void Escape(std::string_view s);

  bool pretty_;
  std::string out_;
  // One entry per open container: number of values written in it so far.
  std::vector<uint32_t> counts_;
  bool after_key_ = false;
};

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_JSON_WRITER_H_
