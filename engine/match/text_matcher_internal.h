// Internal to engine/match: test seams of text_matcher.cc.
//
// SetRegexCompileMultiForTesting replaces hs_compile_multi for the shared regex database, so
// that tests can make the shared compile fail on chosen patterns and check that the
// recompile-and-move-out logic keeps every regex matching. Not thread-safe against concurrent
// Build() calls: tests only; pass nullptr to restore the real function.
//
// Example:
//   fedwall::match::internal::SetRegexCompileMultiForTesting(&FailingCompile);
//   ... Build() ...
//   fedwall::match::internal::SetRegexCompileMultiForTesting(nullptr);
#ifndef FEDWALL_ENGINE_MATCH_TEXT_MATCHER_INTERNAL_H_
#define FEDWALL_ENGINE_MATCH_TEXT_MATCHER_INTERNAL_H_

#include <hs/hs.h>

namespace fedwall::match::internal {

using HsCompileMultiFn = hs_error_t(HS_CDECL*)(const char* const* expressions,
                                               const unsigned int* flags, const unsigned int* ids,
                                               unsigned int elements, unsigned int mode,
                                               const hs_platform_info_t* platform,
                                               hs_database_t** db, hs_compile_error_t** error);

void SetRegexCompileMultiForTesting(HsCompileMultiFn fn);

}  // namespace fedwall::match::internal

#endif  // FEDWALL_ENGINE_MATCH_TEXT_MATCHER_INTERNAL_H_
