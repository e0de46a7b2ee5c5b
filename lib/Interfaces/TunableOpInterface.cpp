//===- TunableOpInterface.cpp - ops with tile sizes to choose -------------===//

#include "megalodon/Interfaces/TunableOpInterface.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace mlir;
using namespace mlir::megalodon;

#include "megalodon/Interfaces/TunableOpInterface.cpp.inc"

namespace {
/// A cache size (or associativity) from sysconf, or `fallback` where the OS
/// does not say.
int64_t cacheBytes(int name, int64_t fallback) {
#ifdef _SC_LEVEL1_DCACHE_SIZE
  long value = sysconf(name);
  if (value > 0)
    return value;
#else
  (void)name;
#endif
  return fallback;
}
} // namespace

TargetFacts TargetFacts::host(int64_t threads) {
  TargetFacts facts;
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  auto has = [&](llvm::StringRef name) {
    auto it = features.find(name);
    return it != features.end() && it->second;
  };
  if (has("avx512f")) {
    facts.vectorLanes = 16;
    facts.vectorRegisters = 32;
  } else if (has("avx2") || has("avx")) {
    facts.vectorLanes = 8;
    facts.vectorRegisters = 16;
  } else {
    // SSE, NEON (32 registers on AArch64, 16 elsewhere) or unknown.
    facts.vectorLanes = 4;
    facts.vectorRegisters = has("neon") ? 32 : 16;
  }
#ifdef _SC_LEVEL1_DCACHE_SIZE
  facts.l1Bytes = cacheBytes(_SC_LEVEL1_DCACHE_SIZE, facts.l1Bytes);
  facts.l2Bytes = cacheBytes(_SC_LEVEL2_CACHE_SIZE, facts.l2Bytes);
  facts.l1Ways = cacheBytes(_SC_LEVEL1_DCACHE_ASSOC, facts.l1Ways);
#endif
  facts.threads =
      threads > 0 ? threads
                  : std::max<int64_t>(1, std::thread::hardware_concurrency());
  return facts;
}

std::string TargetFacts::describe() const {
  std::string text;
  llvm::raw_string_ostream(text)
      << "lanes=" << vectorLanes << ",registers=" << vectorRegisters
      << ",l1=" << l1Bytes << ",l2=" << l2Bytes << ",l1ways=" << l1Ways
      << ",threads=" << threads;
  return text;
}

std::string mlir::megalodon::tileOpSignature(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName().getStringRef() << "(";
  llvm::interleaveComma(op->getOperandTypes(), os);
  os << ") -> (";
  llvm::interleaveComma(op->getResultTypes(), os);
  os << ")";
  // Attributes shape the work too (a chunk size, a head count); the tile
  // config itself is what the key looks up, and operand segment sizes
  // follow from the types.
  SmallVector<NamedAttribute> attrs;
  for (NamedAttribute attr : op->getAttrs())
    if (attr.getName() != kTileConfigAttrName &&
        attr.getName() != "operandSegmentSizes")
      attrs.push_back(attr);
  if (!attrs.empty()) {
    os << " {";
    llvm::interleaveComma(attrs, os, [&](NamedAttribute attr) {
      os << attr.getName().getValue() << " = " << attr.getValue();
    });
    os << "}";
  }
  return text;
}

std::string mlir::megalodon::tuningCompilerVersion() {
  return std::string("megalodon ") + MEGALODON_VERSION + "; LLVM " +
         LLVM_VERSION_STRING;
}

std::string mlir::megalodon::hostTargetKey() {
  std::vector<std::string> enabled;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    if (feature.second)
      enabled.push_back(feature.first().str());
  std::sort(enabled.begin(), enabled.end());
  std::string key = llvm::sys::getProcessTriple() + ";" +
                    llvm::sys::getHostCPUName().str() + ";";
  for (size_t i = 0; i < enabled.size(); ++i)
    key += (i ? "," : "") + enabled[i];
  return key;
}

DictionaryAttr mlir::megalodon::makeTileSizes(
    MLIRContext *context,
    llvm::ArrayRef<std::pair<llvm::StringRef, int64_t>> sizes) {
  Builder b(context);
  SmallVector<NamedAttribute> entries;
  for (auto [name, value] : sizes)
    entries.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(value)));
  return b.getDictionaryAttr(entries);
}

std::optional<int64_t> mlir::megalodon::getTileSize(DictionaryAttr sizes,
                                                    llvm::StringRef name) {
  if (!sizes)
    return std::nullopt;
  auto value = dyn_cast_or_null<IntegerAttr>(sizes.get(name));
  if (!value)
    return std::nullopt;
  return value.getInt();
}

LogicalResult
mlir::megalodon::requireTileSizeNames(Operation *op, DictionaryAttr sizes,
                                      llvm::ArrayRef<llvm::StringRef> names) {
  for (llvm::StringRef name : names) {
    auto value = dyn_cast_or_null<IntegerAttr>(sizes.get(name));
    if (!value)
      return op->emitOpError("tile config: missing integer '") << name << "'";
    if (value.getInt() < 1)
      return op->emitOpError("tile config: '")
             << name << "' must be at least 1, got " << value.getInt();
  }
  for (NamedAttribute entry : sizes)
    if (!llvm::is_contained(names, entry.getName().strref()))
      return op->emitOpError("tile config: unknown size '")
             << entry.getName().strref() << "'";
  return success();
}
