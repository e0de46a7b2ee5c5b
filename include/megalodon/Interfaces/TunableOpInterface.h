//===- TunableOpInterface.h - ops with tile sizes to choose -----*- C++ -*-===//
//
// Declares TunableOpInterface (see TunableOpInterface.td), the target facts
// its rules read, and helpers for tile-size dictionaries.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_INTERFACES_TUNABLEOPINTERFACE_H
#define MEGALODON_INTERFACES_TUNABLEOPINTERFACE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace mlir::megalodon {

/// What tile-size rules know about the machine the code is compiled for.
struct TargetFacts {
  /// f32 lanes of one vector register (4 SSE/NEON, 8 AVX2, 16 AVX-512).
  int64_t vectorLanes = 8;
  /// Architectural vector registers (16 before AVX-512, 32 with it).
  int64_t vectorRegisters = 16;
  /// Per-core data cache sizes.
  int64_t l1Bytes = 32 * 1024;
  int64_t l2Bytes = 1024 * 1024;
  /// Ways of the L1 data cache: how many lines that share a set it holds
  /// at once. Rows of a matrix whose stride is a multiple of l1Bytes / ways
  /// (4 KiB on common x86 cores) all share one set.
  int64_t l1Ways = 8;
  /// Threads the compiled code runs on.
  int64_t threads = 1;

  /// The facts of the host: vector width and register count from its CPU
  /// features, cache sizes from the OS (the defaults above where unknown),
  /// and `threads` (0: the number of cores).
  static TargetFacts host(int64_t threads = 0);

  /// "lanes=16,registers=32,l1=49152,l2=2097152,l1ways=12,threads=2".
  std::string describe() const;
};

/// The sizes named in `sizes` as a dictionary of i64 attributes.
DictionaryAttr
makeTileSizes(MLIRContext *context,
              llvm::ArrayRef<std::pair<llvm::StringRef, int64_t>> sizes);

/// The integer named `name` in `sizes`, if there is one.
std::optional<int64_t> getTileSize(DictionaryAttr sizes, llvm::StringRef name);

/// Checks that `sizes` holds exactly the integers `names`, each at least 1;
/// emits an error on `op` naming the first one that is missing, unknown or
/// not positive.
llvm::LogicalResult requireTileSizeNames(Operation *op, DictionaryAttr sizes,
                                         llvm::ArrayRef<llvm::StringRef> names);

/// What identifies an op instance to the tuning database: its name,
/// operand and result types and attributes other than the tile config, e.g.
/// "megalodon.cema(tensor<1x64x32xf32>, ...) -> (tensor<1x64x32xf32>, ...)"
/// or "megalodon.chunk_attention(...) -> (...) {chunk_size = 16 : i64,
/// num_heads = 2 : i64}".
std::string tileOpSignature(Operation *op);

/// The compiler as the tuning database keys it: the project's and LLVM's
/// versions. Results stay valid across rebuilds of one version; a release
/// (or an LLVM update) retunes.
std::string tuningCompilerVersion();

/// The host as the tuning database keys it: target triple, CPU name and
/// the enabled CPU features, separated by ';'.
std::string hostTargetKey();

/// The name of the discardable attribute that holds an op's tile config.
inline constexpr llvm::StringLiteral kTileConfigAttrName =
    "megalodon.tile_config";

} // namespace mlir::megalodon

#include "megalodon/Interfaces/TunableOpInterface.h.inc"

#endif // MEGALODON_INTERFACES_TUNABLEOPINTERFACE_H
