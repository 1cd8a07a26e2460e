// Internal to engine/text (and its tests): the ICU reference paths that the table-driven
// fast paths in normalize.cc must agree with.
#ifndef FEDWALL_ENGINE_TEXT_NORMALIZE_INTERNAL_H_
#define FEDWALL_ENGINE_TEXT_NORMALIZE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text/normalize.h"

namespace fedwall::text::internal {

// Fold computed with ICU's normalisers (NFKC_Casefold, confusables table, NFKC_Casefold)
// instead of the per-character kFold table. `unfolded` must be valid UTF-8.
std::string FoldWithIcu(std::string_view unfolded, std::vector<uint32_t>* offsets);

// Unfold computed with ICU's NFKC instead of the per-character kUnfold table.
std::string UnfoldWithIcu(std::string_view plain);

// Normalize computed with the two functions above (no table-driven fast path).
NormalizedText NormalizeWithIcu(std::string_view plain);

// What HtmlToTextWithMarkup reports besides the text: where each piece of markup is, as
// HtmlToText's tokenizer reads it, in document order. Offsets are into the `html` given.
// Everything not reported is text (character references included).
class HtmlMarkupVisitor {
 public:
  virtual ~HtmlMarkupVisitor() = default;
  // An element tag html[begin, end), start ("<a href=...>") or end ("</a>"). `name` is the
  // tag name lower-cased, "" when longer than 16 bytes. `end` is html.size() for a tag left
  // open at the end. After the start tag of script or style, the raw text up to and
  // including the matching end tag is skipped without further calls.
  virtual void OnTag(size_t begin, size_t end, bool end_tag, std::string_view name) = 0;
  // Any other markup html[begin, end): a comment, "<!...>", "<?...>", or "</" not followed
  // by a letter.
  virtual void OnOtherMarkup(size_t begin, size_t end) = 0;
};

// HtmlToText(html) into *text (contents replaced, capacity reused), telling `visitor` where
// the markup is, in the same single pass. `html` must be valid UTF-8 (as the strings of a
// validating JSON parser are); for other input the text is unspecified (but the call is
// memory-safe). Used by the activity parser to find links without a second scan.
void HtmlToTextWithMarkup(std::string_view html, std::string* text, HtmlMarkupVisitor* visitor);

// Normalize(plain) into *out, reusing the capacity of its buffers.
void NormalizeInto(std::string_view plain, NormalizedText* out);

}  // namespace fedwall::text::internal

#endif  // FEDWALL_ENGINE_TEXT_NORMALIZE_INTERNAL_H_
