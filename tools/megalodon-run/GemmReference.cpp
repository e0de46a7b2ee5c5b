//===- GemmReference.cpp - OpenBLAS sgemm as a benchmark reference --------===//

#include "GemmReference.h"

#include <algorithm>
#include <chrono>
#include <dlfcn.h>
#include <vector>

using namespace megalodon;

tool::SgemmFn tool::loadOpenBlasSgemm(int threads) {
  void *lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return nullptr;
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(lib, "cblas_sgemm"));
  auto setThreads =
      reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
  if (sgemm && setThreads && threads > 0)
    setThreads(threads);
  return sgemm;
}

double tool::medianSgemmSeconds(SgemmFn sgemm, bool transA, bool transB, int m,
                                int n, int k, int calls) {
  using Clock = std::chrono::steady_clock;
  std::vector<float> a(static_cast<size_t>(m) * k, 0.5f);
  std::vector<float> b(static_cast<size_t>(k) * n, 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  int lda = transA ? m : k, ldb = transB ? k : n;
  std::vector<double> times;
  for (int i = 0; i <= calls; ++i) {
    auto start = Clock::now();
    sgemm(kCblasRowMajor, transA ? kCblasTrans : kCblasNoTrans,
          transB ? kCblasTrans : kCblasNoTrans, m, n, k, 1.0f, a.data(), lda,
          b.data(), ldb, 0.0f, c.data(), n);
    if (i > 0)
      times.push_back(
          std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}
