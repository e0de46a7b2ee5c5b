//===- GemmReference.h - OpenBLAS sgemm as a benchmark reference -*- C++
//-*-===//
//
// `bench` reports generated code as a fraction of the machine's GEMM rate,
// measured in the same run with OpenBLAS's cblas_sgemm. The library is opened
// at run time, so megalodon neither links nor requires it: without it the
// fractions are not reported.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_TOOLS_MEGALODON_RUN_GEMMREFERENCE_H
#define MEGALODON_TOOLS_MEGALODON_RUN_GEMMREFERENCE_H

namespace megalodon::tool {

/// cblas_sgemm's signature and the CBLAS enum values it takes.
using SgemmFn = void (*)(int order, int transA, int transB, int m, int n, int k,
                         float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc);
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
constexpr int kCblasTrans = 112;

/// OpenBLAS's cblas_sgemm set to `threads` threads (0: its default), or
/// nullptr when the library is not installed.
SgemmFn loadOpenBlasSgemm(int threads);

/// The median seconds of `calls` calls of C[m, n] = op(A) op(B) (row-major,
/// `transA` / `transB` as in CBLAS) on constant inputs, after one warm-up.
double medianSgemmSeconds(SgemmFn sgemm, bool transA, bool transB, int m, int n,
                          int k, int calls);

} // namespace megalodon::tool

#endif // MEGALODON_TOOLS_MEGALODON_RUN_GEMMREFERENCE_H
