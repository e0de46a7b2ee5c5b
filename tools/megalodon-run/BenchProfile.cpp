//===- BenchProfile.cpp - megalodon-run bench --profile -------------------===//
//
// Where a training step's (or a forward pass's) time goes: each distinct
// megalodon op of @train_step (or @forward), same name, attributes and types,
// is compiled alone and timed, and the table lists ops by their total time
// (time per call x occurrences) with their share of the sum. Ops timed alone
// miss the fusion across ops and the cache state of the full step, so the
// sum is close to, not equal to, the step's time; the ranking is what the
// profile is for.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "IsolatedOp.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Driver/Trainer.h"
#include "megalodon/Model/ModelBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace megalodon;

namespace {

/// Name, attributes and types: ops with equal keys compile to the same code.
std::string profileKey(mlir::Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName().getStringRef() << " " << op->getAttrDictionary() << " (";
  llvm::interleaveComma(op->getOperandTypes(), os);
  os << ") -> (";
  llvm::interleaveComma(op->getResultTypes(), os);
  os << ")";
  return text;
}

struct Row {
  mlir::Operation *op;
  int count = 0;
  double seconds = 0;
};

} // namespace

llvm::Error tool::runProfileBench(const ModelConfig &config, int64_t seqLen,
                                  int64_t batch, int iterations, bool train,
                                  const std::string &cacheDir) {
  mlir::MLIRContext context;
  loadModelDialects(context);
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (train) {
    auto built = buildTrainingModule(context, config, batch, seqLen,
                                     OptimizerOptions(), false);
    if (!built)
      return built.takeError();
    module = std::move(*built);
  } else {
    BuildOptions build;
    build.batch = batch;
    build.seqLen = seqLen;
    build.emitLoss = build.emitDecode = false;
    auto built = buildModelModule(context, config, build);
    if (!built)
      return built.takeError();
    module = std::move(*built);
  }
  auto entry = module->lookupSymbol<mlir::func::FuncOp>(train ? "train_step"
                                                              : "forward");
  if (!entry)
    return llvm::createStringError("internal error: no entry point to profile");

  std::vector<Row> rows;
  llvm::StringMap<size_t> byKey;
  entry.walk([&](mlir::Operation *op) {
    if (!llvm::isa<mlir::megalodon::MegalodonDialect>(op->getDialect()))
      return;
    auto [it, inserted] = byKey.try_emplace(profileKey(op), rows.size());
    if (inserted)
      rows.push_back({op});
    ++rows[it->second].count;
  });

  CpuCompileOptions options;
  options.cacheDir = cacheDir;
  llvm::outs() << "profiling " << rows.size() << " distinct ops of @"
               << entry.getName() << " (batch " << batch << ", L " << seqLen
               << ")\n";
  double total = 0;
  // A progress counter rewritten in place, on a terminal only: in a log
  // the carriage returns would run the counts together.
  bool progress = llvm::errs().is_displayed();
  for (size_t i = 0; i < rows.size(); ++i) {
    auto t = timeIsolatedOp(rows[i].op, nullptr, options, iterations);
    if (!t)
      return t.takeError();
    rows[i].seconds = *t;
    total += *t * rows[i].count;
    if (progress)
      llvm::errs() << "\r" << i + 1 << "/" << rows.size();
  }
  if (progress)
    llvm::errs() << "\n";
  std::sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) {
    return a.seconds * a.count > b.seconds * b.count;
  });
  llvm::outs() << "op                            count   us/call   total_ms  "
                  "share  shape\n";
  for (const Row &row : rows) {
    std::string shape;
    llvm::raw_string_ostream os(shape);
    llvm::interleave(row.op->getOperandTypes(), os, ",");
    if (shape.size() > 60)
      shape = shape.substr(0, 57) + "...";
    llvm::outs() << llvm::format(
        "%-29s %6d %9.1f %10.2f %5.1f%%  %s\n",
        row.op->getName().getStringRef().str().c_str(), row.count,
        row.seconds * 1e6, row.seconds * row.count * 1e3,
        100 * row.seconds * row.count / total, shape.c_str());
  }
  llvm::outs() << llvm::format("sum of the ops timed alone: %.1f ms\n",
                               total * 1e3);
  return llvm::Error::success();
}
