//===- BenchLinear.cpp - megalodon-run bench --op linear ------------------===//
//
// Times the three products of a linear layer, each compiled alone, next to
// OpenBLAS sgemm on the same shapes in the same run:
//   forward        y  = x W^T    [M, N] from x [M, K] and W [N, K]
//   input grad     gx = gy W     [M, K], reducing over N
//   weight grad    gW = gy^T x   [N, K], reducing over the M rows
// The generated forms are megalodon.linear and megalodon.linear_grad with
// only one result used (the others are dead and removed), so each time
// includes whatever the lowering adds around its product (the weight
// repacking of the forward, the transposes of the weight gradient). The
// issue's target is at least 80% of the OpenBLAS rate for each product.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "GemmReference.h"
#include "IsolatedOp.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace megalodon;

namespace {

enum class Product { Forward, InputGrad, WeightGrad };

/// @f computing `product` of a linear layer with x [m, k] and W [n, k].
std::string linearIR(Product product, int64_t m, int64_t k, int64_t n) {
  std::string x = llvm::formatv("tensor<{0}x{1}xf32>", m, k);
  std::string w = llvm::formatv("tensor<{0}x{1}xf32>", n, k);
  std::string y = llvm::formatv("tensor<{0}x{1}xf32>", m, n);
  std::string b = llvm::formatv("tensor<{0}xf32>", n);
  if (product == Product::Forward)
    return llvm::formatv(R"mlir(
      func.func @f(%x: {0}, %w: {1}) -> {2} {
        %y = megalodon.linear %x, %w : ({0}, {1}) -> {2}
        return %y : {2}
      })mlir",
                         x, w, y);
  bool input = product == Product::InputGrad;
  return llvm::formatv(R"mlir(
    func.func @f(%x: {0}, %w: {1}, %gy: {2}) -> {4} {
      %gx, %gw, %gb = megalodon.linear_grad %x, %w grad(%gy)
          : ({0}, {1}, {2}) -> ({0}, {1}, {3})
      return {5} : {4}
    })mlir",
                       x, w, y, b, input ? x : w, input ? "%gx" : "%gw");
}

} // namespace

llvm::Error tool::runLinearBench(llvm::ArrayRef<std::string> shapes,
                                 int iterations, int64_t threads,
                                 const CpuCompileOptions &options) {
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  SgemmFn sgemm = loadOpenBlasSgemm(threads);
  if (!sgemm)
    llvm::outs() << "OpenBLAS not found: the sgemm columns are not reported\n";
  else
    (void)medianSgemmSeconds(sgemm, false, false, 1024, 1024, 1024,
                             5); // warm-up: thread pool, clocks
  llvm::outs() << "     M     K     N  product       generated_ms  GFLOP/s  "
                  "sgemm_ms  GFLOP/s  of_sgemm\n";
  for (const std::string &shape : shapes) {
    long long m = 0, k = 0, n = 0;
    char tail = 0;
    if (std::sscanf(shape.c_str(), "%lldx%lldx%lld%c", &m, &k, &n, &tail) !=
            3 ||
        m <= 0 || k <= 0 || n <= 0)
      return llvm::createStringError("--shapes: expected MxKxN, got '" + shape +
                                     "'");
    double flops = 2.0 * m * k * n;
    for (Product product :
         {Product::Forward, Product::InputGrad, Product::WeightGrad}) {
      auto module = mlir::parseSourceString<mlir::ModuleOp>(
          linearIR(product, m, k, n), &context);
      if (!module)
        return llvm::createStringError("internal error: benchmark IR invalid");
      auto generated = tool::timeFunction(*module, options, iterations);
      if (!generated)
        return generated.takeError();
      const char *name = product == Product::Forward     ? "forward"
                         : product == Product::InputGrad ? "input_grad"
                                                         : "weight_grad";
      llvm::outs() << llvm::format("%6lld%6lld%6lld  %-12s  %12.3f  %7.1f", m,
                                   k, n, name, *generated * 1e3,
                                   flops / *generated * 1e-9);
      if (sgemm) {
        // The same product in CBLAS terms (row-major).
        double reference =
            product == Product::Forward
                ? medianSgemmSeconds(sgemm, false, true, m, n, k, iterations)
            : product == Product::InputGrad
                ? medianSgemmSeconds(sgemm, false, false, m, k, n, iterations)
                : medianSgemmSeconds(sgemm, true, false, n, k, m, iterations);
        llvm::outs() << llvm::format("  %8.3f  %7.1f  %7.1f%%", reference * 1e3,
                                     flops / reference * 1e-9,
                                     100 * reference / *generated);
      }
      llvm::outs() << "\n";
      llvm::outs().flush();
    }
  }
  return llvm::Error::success();
}
