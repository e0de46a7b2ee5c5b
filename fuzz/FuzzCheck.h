//===- FuzzCheck.h - Property checks inside fuzz targets --------*- C++ -*-===//
//
// A reader may reject any input, but what it accepts must be consistent; the
// fuzz targets check that with FUZZ_CHECK. A failed check aborts, which
// libFuzzer records as a crash together with the input that caused it.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_FUZZ_FUZZCHECK_H
#define MEGALODON_FUZZ_FUZZCHECK_H

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__,         \
                   __LINE__, #cond);                                           \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

#endif // MEGALODON_FUZZ_FUZZCHECK_H
