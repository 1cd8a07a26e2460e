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

}  // namespace fedwall::text::internal

#endif  // FEDWALL_ENGINE_TEXT_NORMALIZE_INTERNAL_H_
