//===- EntryPoints.cpp - Artifact entry points ----------------------------===//

#include "EntryPoints.h"

#include "megalodon/Model/ModelBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace megalodon {

std::string entrySymbol(llvm::StringRef name) {
  return ("megalodon_entry_" + name).str();
}

namespace {
llvm::Expected<rt::DType> dtypeOf(Type elementType, llvm::StringRef what) {
  if (elementType.isF32())
    return rt::DType::F32;
  if (elementType.isBF16())
    return rt::DType::BF16;
  if (elementType.isF64())
    return rt::DType::F64;
  if (elementType.isSignlessInteger(32))
    return rt::DType::I32;
  if (elementType.isSignlessInteger(64))
    return rt::DType::I64;
  if (auto complex = dyn_cast<ComplexType>(elementType))
    if (complex.getElementType().isF32())
      return rt::DType::C64;
  std::string type;
  llvm::raw_string_ostream(type) << elementType;
  return llvm::createStringError(what.str() + " has element type " + type +
                                 ", which compiled entry points cannot "
                                 "exchange with the runtime yet");
}

/// Name and kind of an argument or result from its attributes.
std::pair<std::string, rt::TensorKind>
nameAndKind(DictionaryAttr attrs, unsigned index, bool isResult) {
  if (attrs) {
    if (auto name = attrs.getAs<StringAttr>(::megalodon::kParamAttr))
      return {name.str(), rt::TensorKind::Param};
    if (auto name = attrs.getAs<StringAttr>(::megalodon::kStateAttr))
      return {name.str(), rt::TensorKind::State};
    // A gradient (megalodon-autodiff) is an output named after what it
    // belongs to.
    if (auto name = attrs.getAs<StringAttr>("megalodon.grad"))
      return {"grad." + name.str(), rt::TensorKind::Output};
    if (auto name = attrs.getAs<StringAttr>(::megalodon::kInputAttr))
      return {name.str(), isResult ? rt::TensorKind::Output
                                   : rt::TensorKind::Input};
  }
  return {(isResult ? "result" : "arg") + std::to_string(index),
          isResult ? rt::TensorKind::Output : rt::TensorKind::Input};
}

llvm::Expected<rt::TensorSpec> describe(Type type, DictionaryAttr attrs,
                                        unsigned index, bool isResult,
                                        llvm::StringRef func) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  std::string what = "@" + func.str() + (isResult ? " result #" : " argument #") +
                     std::to_string(index);
  if (!tensor || !tensor.hasStaticShape())
    return llvm::createStringError(what + " is not a statically shaped tensor");
  rt::TensorSpec spec;
  std::tie(spec.name, spec.kind) = nameAndKind(attrs, index, isResult);
  llvm::Expected<rt::DType> dtype = dtypeOf(tensor.getElementType(), what);
  if (!dtype)
    return dtype.takeError();
  spec.dtype = *dtype;
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return spec;
}
} // namespace

llvm::Expected<std::vector<rt::EntryPoint>>
describeEntryPoints(ModuleOp module) {
  std::vector<rt::EntryPoint> entries;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    rt::EntryPoint entry;
    entry.name = func.getSymName().str();
    entry.symbol = entrySymbol(entry.name);
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      auto spec = describe(func.getArgumentTypes()[i], func.getArgAttrDict(i),
                           i, /*isResult=*/false, entry.name);
      if (!spec)
        return spec.takeError();
      entry.arguments.push_back(std::move(*spec));
    }
    for (unsigned i = 0; i < func.getNumResults(); ++i) {
      auto spec = describe(func.getResultTypes()[i], func.getResultAttrDict(i),
                           i, /*isResult=*/true, entry.name);
      if (!spec)
        return spec.takeError();
      entry.results.push_back(std::move(*spec));
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty())
    return llvm::createStringError("the module has no public function");
  return entries;
}

void requestCInterfaces(ModuleOp module) {
  UnitAttr unit = UnitAttr::get(module.getContext());
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isPrivate() && !func.isExternal())
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), unit);
}

llvm::Error
addPackedEntryPoints(ModuleOp llvmModule,
                                const std::vector<rt::EntryPoint> &entries) {
  MLIRContext *context = llvmModule.getContext();
  OpBuilder b(context);
  b.setInsertionPointToEnd(llvmModule.getBody());
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto voidType = LLVM::LLVMVoidType::get(context);
  for (const rt::EntryPoint &entry : entries) {
    std::string wrapped = "_mlir_ciface_" + entry.name;
    auto callee = llvmModule.lookupSymbol<LLVM::LLVMFuncOp>(wrapped);
    if (!callee)
      return llvm::createStringError("lowering produced no " + wrapped);
    size_t arity = entry.arguments.size() + entry.results.size();
    if (callee.getNumArguments() != arity)
      return llvm::createStringError(
          wrapped + " takes " + std::to_string(callee.getNumArguments()) +
          " descriptors, the manifest describes " + std::to_string(arity));
    Location loc = callee.getLoc();
    auto wrapper = LLVM::LLVMFuncOp::create(
        b, loc, entry.symbol, LLVM::LLVMFunctionType::get(voidType, {ptr}));
    Block *body = wrapper.addEntryBlock(b);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);
    SmallVector<Value> descriptors;
    for (size_t i = 0; i < arity; ++i) {
      Value slot = LLVM::GEPOp::create(
          b, loc, ptr, ptr, body->getArgument(0),
          ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      descriptors.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
    }
    LLVM::CallOp::create(b, loc, callee, descriptors);
    LLVM::ReturnOp::create(b, loc, ValueRange());
  }
  return llvm::Error::success();
}

} // namespace megalodon
