//===- IsolatedOp.cpp - One op compiled and timed alone -------------------===//

#include "IsolatedOp.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/Driver/CompiledFunction.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <algorithm>
#include <chrono>
#include <random>

using namespace megalodon;
namespace mm = mlir::megalodon;

mlir::OwningOpRef<mlir::ModuleOp> tool::isolateOp(mlir::Operation *op,
                                                  mlir::DictionaryAttr sizes) {
  mlir::MLIRContext *ctx = op->getContext();
  mlir::OpBuilder b(ctx);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(b.getUnknownLoc());
  b.setInsertionPointToEnd(module->getBody());
  auto type = b.getFunctionType(op->getOperandTypes(), op->getResultTypes());
  auto func = mlir::func::FuncOp::create(b, op->getLoc(), "f", type);
  mlir::Block *body = func.addEntryBlock();
  b.setInsertionPointToEnd(body);
  mlir::IRMapping map;
  map.map(op->getOperands(), body->getArguments());
  mlir::Operation *clone = b.clone(*op, map);
  if (sizes)
    clone->setAttr(
        mm::kTileConfigAttrName,
        mm::TileConfigAttr::get(ctx, sizes, b.getStringAttr("user")));
  mlir::func::ReturnOp::create(b, op->getLoc(), clone->getResults());
  return module;
}

std::string tool::tileConfigEntry(llvm::StringRef sizes) {
  if (sizes.empty())
    return "";
  std::string entries;
  llvm::SmallVector<llvm::StringRef> items;
  sizes.split(items, ',');
  for (llvm::StringRef item : items) {
    auto [name, value] = item.split('=');
    entries += (entries.empty() ? "" : ", ") + name.trim().str() + " = " +
               value.trim().str() + " : i64";
  }
  return "megalodon.tile_config = #megalodon.tile_config<{" + entries +
         "}, source = \"user\">";
}

llvm::Expected<double> tool::timeFunction(mlir::ModuleOp module,
                                          const CpuCompileOptions &options,
                                          int calls) {
  auto fn = CompiledFunction::create(module, "f", {}, options);
  if (!fn)
    return fn.takeError();

  std::mt19937 rng(0);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<rt::HostTensor> args;
  for (const rt::TensorSpec &spec : (*fn)->entry().arguments) {
    rt::HostTensor t = rt::HostTensor::zeros(spec.dtype, spec.shape);
    if (spec.dtype == rt::DType::F32 || spec.dtype == rt::DType::C64)
      for (size_t i = 0; i < t.bytes.size() / sizeof(float); ++i)
        t.f32()[i] = uniform(rng);
    args.push_back(std::move(t));
  }
  std::vector<const rt::HostTensor *> pointers;
  for (const rt::HostTensor &t : args)
    pointers.push_back(&t);
  return medianCallSeconds(**fn, pointers, calls);
}

llvm::Expected<double> tool::timeIsolatedOp(mlir::Operation *op,
                                            mlir::DictionaryAttr sizes,
                                            const CpuCompileOptions &options,
                                            int calls) {
  mlir::OwningOpRef<mlir::ModuleOp> module = isolateOp(op, sizes);
  return timeFunction(*module, options, calls);
}

llvm::Expected<double>
tool::medianCallSeconds(const CompiledFunction &fn,
                        const std::vector<const rt::HostTensor *> &inputs,
                        int calls) {
  auto results = fn.allocateResults();
  std::vector<double> times;
  for (int i = 0; i <= calls; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error err = fn.callInto(inputs, results))
      return std::move(err);
    if (i > 0)
      times.push_back(std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}
