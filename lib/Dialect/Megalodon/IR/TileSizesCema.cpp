//===- TileSizesCema.cpp - TunableOpInterface of cema and cema_grad -------===//
//
// megalodon.cema runs as a two-level scan (megalodon-tile-cema): time is cut
// into blocks of `block_time` steps; inside a block, `lanes` channels share
// one vector register and the complex states of `state_group` states per
// channel stay in registers across the block's steps, carried to the next
// block through memory. The sizes trade:
//   * block_time: the block's slice of x and y ([block_time, lanes] each) is
//     reread by each group of states, so it should stay in L1;
//   * state_group: more states per pass means fewer passes over the block's
//     x and y, but 2 * state_group live state vectors plus their five
//     coefficient vectors compete for the registers;
//   * lanes: a multiple of the vector width covers more channels per pass.
//
// A config of the single size `matrix_block` (T) selects the block (matrix)
// form instead (CemaMatrixForm.cpp): per block of T steps, a T x T Toeplitz
// product and two T x N products per channel, and a scan over the blocks
// only. T must divide L; its matrices hold T x T x D and 4 x T x D x N
// floats, so T is at most 256. The form suits matrix units; the tuner
// offers it next to the recurrence's configs. cema_grad takes the same
// config for the block form of its adjoint (CemaGradMatrixForm.cpp).
//
// megalodon.cema_grad checkpoints the states every `checkpoint_block` steps
// and recomputes one block at a time: ceil(sqrt(L)) minimizes the memory
// (checkpoints plus one block's states). Its vector form (TileCemaGrad.cpp)
// takes `lanes` and `state_group` like the forward, but carries 7 vectors
// per state across steps (the adjoint mu, and the sums of p, q and gamma)
// instead of 2, so its groups are smaller.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::megalodon;

namespace {

constexpr llvm::StringLiteral kBlockTime = "block_time";
constexpr llvm::StringLiteral kLanes = "lanes";
constexpr llvm::StringLiteral kStateGroup = "state_group";
constexpr llvm::StringLiteral kCheckpointBlock = "checkpoint_block";
constexpr llvm::StringLiteral kMatrixBlock = "matrix_block";
constexpr int64_t kMaxMatrixBlock = 256;

/// Static sizes of a cema's x [B, L, D] and N; nullopt if any is dynamic.
struct ScanSizes {
  int64_t steps, channels, states;
};

std::optional<ScanSizes> scanSizes(Value x, Value alpha) {
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  auto alphaType = dyn_cast<RankedTensorType>(alpha.getType());
  if (!xType || !alphaType || !xType.hasStaticShape() ||
      !alphaType.hasStaticShape() || xType.getRank() != 3 ||
      alphaType.getRank() != 3)
    return std::nullopt;
  return ScanSizes{xType.getDimSize(1), xType.getDimSize(2),
                   alphaType.getDimSize(1)};
}

/// Vector registers a pass of the scan needs: the 2 * G state parts, which
/// the steps carry (a spilled state puts a store and a load on the
/// recurrence's critical path), and about 4 for the input, the output and
/// temporaries; each `lanes / vectorLanes` registers. With
/// `withCoefficients` also the 5 * G coefficients (p, q re/im, gamma re/im),
/// which could otherwise be reloaded from L1 every step.
int64_t liveRegisters(int64_t lanes, int64_t stateGroup,
                      const TargetFacts &target, bool withCoefficients) {
  int64_t perVector = llvm::divideCeil(lanes, target.vectorLanes);
  int64_t perState = withCoefficients ? 7 : 2;
  return (perState * stateGroup + 4) * perVector;
}

/// Vector registers a pass of the adjoint scan keeps live across steps: 7
/// per state (mu re/im and the sums of p, q re/im, gamma re/im) plus about
/// 6 for the step's inputs and temporaries, each `lanes / vectorLanes`
/// registers.
int64_t adjointRegisters(int64_t lanes, int64_t stateGroup,
                         const TargetFacts &target) {
  return (7 * stateGroup + 6) * llvm::divideCeil(lanes, target.vectorLanes);
}

/// The largest power of two that divides `n` and is at most `limit`.
int64_t largestPowerOfTwoDivisor(int64_t n, int64_t limit) {
  int64_t p = 1;
  while (p * 2 <= limit && n % (p * 2) == 0)
    p *= 2;
  return p;
}

/// The defaults: the widest vector that divides D; as many states per pass
/// as the registers hold with their coefficients; the longest power-of-two
/// block whose x and y slices fill at most a quarter of L1 (the slices are
/// columns with a row stride of D floats, which map onto few L1 sets; on a
/// 48 KiB L1 with 16 lanes, 64 steps ran 10% faster than 128 and 40% faster
/// than 2048: `megalodon-run bench --op cema --tile-sizes ...`).
DictionaryAttr defaultScanSizes(MLIRContext *ctx, const ScanSizes &s,
                                const TargetFacts &target) {
  int64_t lanes = largestPowerOfTwoDivisor(s.channels, target.vectorLanes);
  int64_t group = 1;
  for (int64_t g = s.states; g >= 1; --g)
    if (s.states % g == 0 &&
        liveRegisters(lanes, g, target, /*withCoefficients=*/true) <=
            target.vectorRegisters) {
      group = g;
      break;
    }
  int64_t bytesPerStep = 2 * lanes * 4;
  int64_t block = llvm::bit_floor(static_cast<uint64_t>(
      std::max<int64_t>(1, target.l1Bytes / 4 / bytesPerStep)));
  block = std::clamp<int64_t>(block, 16, 1024);
  block = std::min<int64_t>(block, std::max<int64_t>(s.steps, 1));
  return makeTileSizes(
      ctx, {{kBlockTime, block}, {kLanes, lanes}, {kStateGroup, group}});
}

LogicalResult verifyMatrixSizes(Operation *op, DictionaryAttr sizes,
                                const ScanSizes &s) {
  if (failed(requireTileSizeNames(op, sizes, {kMatrixBlock})))
    return failure();
  int64_t block = *getTileSize(sizes, kMatrixBlock);
  if (block > kMaxMatrixBlock || s.steps % block != 0)
    return op->emitOpError("tile config: matrix_block (")
           << block << ") must divide the " << s.steps
           << " time steps and be at most " << kMaxMatrixBlock;
  return success();
}

/// The block form's candidates for the tuner: blocks of 32, 64 and 128
/// steps, those that divide L.
void appendMatrixCandidates(MLIRContext *ctx, const ScanSizes &s,
                            SmallVectorImpl<DictionaryAttr> &candidates) {
  for (int64_t block : {32, 64, 128})
    if (s.steps % block == 0)
      candidates.push_back(makeTileSizes(ctx, {{kMatrixBlock, block}}));
}

LogicalResult verifyScanSizes(Operation *op, DictionaryAttr sizes,
                              const ScanSizes &s, const TargetFacts &target) {
  if (sizes.contains(kMatrixBlock))
    return verifyMatrixSizes(op, sizes, s);
  if (failed(
          requireTileSizeNames(op, sizes, {kBlockTime, kLanes, kStateGroup})))
    return failure();
  int64_t block = *getTileSize(sizes, kBlockTime);
  int64_t lanes = *getTileSize(sizes, kLanes);
  int64_t group = *getTileSize(sizes, kStateGroup);
  if (!llvm::isPowerOf2_64(lanes) || s.channels % lanes != 0)
    return op->emitOpError("tile config: lanes (")
           << lanes << ") must be a power of two that divides the "
           << s.channels << " channels";
  if (s.states % group != 0)
    return op->emitOpError("tile config: state_group (")
           << group << ") must divide the " << s.states << " states";
  if (block > std::max<int64_t>(s.steps, 1))
    return op->emitOpError("tile config: block_time (")
           << block << ") exceeds the " << s.steps << " time steps";
  int64_t live = liveRegisters(lanes, group, target, false);
  if (live > target.vectorRegisters)
    return op->emitOpError("tile config: lanes ")
           << lanes << " x state_group " << group << " keeps " << live
           << " vectors live across steps, more than the target's "
           << target.vectorRegisters << " registers";
  return success();
}

SmallVector<DictionaryAttr> enumerateScanSizes(MLIRContext *ctx,
                                               const ScanSizes &s,
                                               const TargetFacts &target) {
  SmallVector<DictionaryAttr> candidates;
  for (int64_t lanes = 1; lanes <= 2 * target.vectorLanes; lanes *= 2) {
    if (s.channels % lanes != 0 || lanes * 2 < target.vectorLanes)
      continue;
    for (int64_t group = 1; group <= s.states; ++group) {
      if (s.states % group != 0 ||
          liveRegisters(lanes, group, target, false) > target.vectorRegisters)
        continue;
      for (int64_t block = 16; block <= 1024; block *= 4) {
        if (block > s.steps && block != 16)
          break;
        candidates.push_back(
            makeTileSizes(ctx, {{kBlockTime, std::min(block, s.steps)},
                                {kLanes, lanes},
                                {kStateGroup, group}}));
      }
    }
  }
  appendMatrixCandidates(ctx, s, candidates);
  return candidates;
}

int64_t ceilSqrt(int64_t n) {
  int64_t k = 1;
  while (k * k < n)
    ++k;
  return k;
}

} // namespace

//===----------------------------------------------------------------------===//
// cema
//===----------------------------------------------------------------------===//

DictionaryAttr CemaOp::getDefaultTileSizes(const TargetFacts &target) {
  auto s = scanSizes(getX(), getAlpha());
  return s ? defaultScanSizes(getContext(), *s, target) : DictionaryAttr();
}

LogicalResult CemaOp::verifyTileSizes(DictionaryAttr sizes,
                                      const TargetFacts &target) {
  auto s = scanSizes(getX(), getAlpha());
  if (!s)
    return emitOpError("tile config: needs static shapes");
  return verifyScanSizes(*this, sizes, *s, target);
}

SmallVector<DictionaryAttr>
CemaOp::enumerateTileSizes(const TargetFacts &target) {
  auto s = scanSizes(getX(), getAlpha());
  if (!s)
    return {};
  return enumerateScanSizes(getContext(), *s, target);
}

//===----------------------------------------------------------------------===//
// cema_grad
//===----------------------------------------------------------------------===//

DictionaryAttr CemaGradOp::getDefaultTileSizes(const TargetFacts &target) {
  auto s = scanSizes(getX(), getAlpha());
  if (!s)
    return DictionaryAttr();
  int64_t lanes = largestPowerOfTwoDivisor(s->channels, target.vectorLanes);
  int64_t group = 1;
  for (int64_t g = s->states; g >= 1; --g)
    if (s->states % g == 0 &&
        adjointRegisters(lanes, g, target) <= target.vectorRegisters) {
      group = g;
      break;
    }
  return makeTileSizes(
      getContext(),
      {{kCheckpointBlock, ceilSqrt(std::max<int64_t>(s->steps, 1))},
       {kLanes, lanes},
       {kStateGroup, group}});
}

LogicalResult CemaGradOp::verifyTileSizes(DictionaryAttr sizes,
                                          const TargetFacts &target) {
  auto s = scanSizes(getX(), getAlpha());
  if (!s)
    return emitOpError("tile config: needs static shapes");
  if (sizes.contains(kMatrixBlock))
    return verifyMatrixSizes(*this, sizes, *s);
  if (failed(requireTileSizeNames(*this, sizes,
                                  {kCheckpointBlock, kLanes, kStateGroup})))
    return failure();
  int64_t block = *getTileSize(sizes, kCheckpointBlock);
  int64_t lanes = *getTileSize(sizes, kLanes);
  int64_t group = *getTileSize(sizes, kStateGroup);
  if (block > std::max<int64_t>(s->steps, 1))
    return emitOpError("tile config: checkpoint_block (")
           << block << ") exceeds the " << s->steps << " time steps";
  if (!llvm::isPowerOf2_64(lanes) || s->channels % lanes != 0)
    return emitOpError("tile config: lanes (")
           << lanes << ") must be a power of two that divides the "
           << s->channels << " channels";
  if (s->states % group != 0)
    return emitOpError("tile config: state_group (")
           << group << ") must divide the " << s->states << " states";
  int64_t live = adjointRegisters(lanes, group, target);
  if (live > target.vectorRegisters)
    return emitOpError("tile config: lanes ")
           << lanes << " x state_group " << group << " keeps " << live
           << " vectors live across the adjoint's steps, more than the "
              "target's "
           << target.vectorRegisters << " registers";
  return success();
}

SmallVector<DictionaryAttr>
CemaGradOp::enumerateTileSizes(const TargetFacts &target) {
  auto s = scanSizes(getX(), getAlpha());
  if (!s)
    return {};
  int64_t root = ceilSqrt(std::max<int64_t>(s->steps, 1));
  SmallVector<int64_t> blocks;
  for (int64_t block : {root / 2, root, root * 2})
    if (block >= 1 && block <= s->steps &&
        (blocks.empty() || blocks.back() != block))
      blocks.push_back(block);
  SmallVector<DictionaryAttr> candidates;
  for (int64_t lanes = 1; lanes <= 2 * target.vectorLanes; lanes *= 2) {
    if (s->channels % lanes != 0 || lanes * 2 < target.vectorLanes)
      continue;
    for (int64_t group = 1; group <= s->states; ++group) {
      if (s->states % group != 0 ||
          adjointRegisters(lanes, group, target) > target.vectorRegisters)
        continue;
      for (int64_t block : blocks)
        candidates.push_back(
            makeTileSizes(getContext(), {{kCheckpointBlock, block},
                                         {kLanes, lanes},
                                         {kStateGroup, group}}));
    }
  }
  appendMatrixCandidates(getContext(), *s, candidates);
  return candidates;
}

// Version 2 added the matrix form's configs.
int64_t CemaOp::getTileSpaceVersion() { return 2; }

// Version 3 added the matrix form's configs.
int64_t CemaGradOp::getTileSpaceVersion() { return 3; }
