// What every fuzz target in tests/fuzz/ shares: the libFuzzer entry point's declaration (each
// fuzz_<name>.cc defines it once) and a check that stops the run loudly when an invariant of
// the code under test does not hold.
//
// Each target is built two ways (tests/fuzz/CMakeLists.txt, docs/fuzzing.md):
//   - with clang and -fsanitize=fuzzer (the `fuzz` preset): a libFuzzer program, fuzz_<name>;
//   - otherwise with replay_main.cc: fuzz_<name>_replay, a plain program that runs every
//     file of the target's seed corpus and regression inputs once (a CTest test).
// Targets keep their state (a compiled policy, a parser) in function-local statics, built on
// the first input; nothing else is shared between inputs.
//
// Thread safety: none; libFuzzer and the replay program call the entry point from one thread.
//
// Example:
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     std::string_view bytes(reinterpret_cast<const char*>(data), size);
//     FEDWALL_FUZZ_CHECK(Parse(bytes).ok() || size > 0);
//     return 0;
//   }
#ifndef FEDWALL_TESTS_FUZZ_FUZZ_TARGET_H_
#define FEDWALL_TESTS_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// libFuzzer's entry point: called once per input; the return value must be 0.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Aborts (a crash libFuzzer reports, with the input saved) when `cond` is false.
#define FEDWALL_FUZZ_CHECK(cond)                                                             \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

#endif  // FEDWALL_TESTS_FUZZ_FUZZ_TARGET_H_
