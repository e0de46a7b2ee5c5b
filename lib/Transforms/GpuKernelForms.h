//===- GpuKernelForms.h - Kernel forms of megalodon-map-loops-to-gpu ------===//
//
// The pieces of megalodon-map-loops-to-gpu that several of its kernel forms
// share (MapLoopsToGpu.cpp forms one-thread-per-iteration kernels,
// BlockKernels.cpp forms kernels whose blocks run whole loop nests).
//
//===----------------------------------------------------------------------===//

#ifndef MEGALODON_LIB_TRANSFORMS_GPUKERNELFORMS_H
#define MEGALODON_LIB_TRANSFORMS_GPUKERNELFORMS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir {
class IRMapping;
} // namespace mlir

namespace mlir::megalodon::detail {

/// The runtime's calls in host code that kernels run from: wait for the
/// launches so far, and free a host-shared buffer (by address).
constexpr llvm::StringLiteral kGpuSyncFunction = "megalodon_gpu_sync";
constexpr llvm::StringLiteral kGpuFreeFunction = "megalodon_gpu_free";

/// Bytes per element of a buffer a kernel keeps in raw memory: whole-byte
/// integers and floats, and complex numbers of them; nullopt otherwise.
std::optional<int64_t> elementBytes(Type type);

/// Trip counts of `loop` per dimension (into `trips`) and their product,
/// built at the builder's insertion point.
Value tripCounts(OpBuilder &builder, Location loc, scf::ParallelOp loop,
                 SmallVectorImpl<Value> &trips);

/// Maps the induction variables of `loop` in `mapping` to the linearized
/// iteration `id` (the last dimension varies fastest).
void delinearize(OpBuilder &builder, Location loc, Value id, ValueRange trips,
                 scf::ParallelOp loop, IRMapping &mapping);

/// Replaces `loop` by a nest of scf.for loops with the same body and returns
/// the outermost one.
FailureOr<scf::ForOp> serializeParallelLoop(scf::ParallelOp loop);

/// Frees a host-shared buffer through the runtime's `free` (stream-ordered:
/// the memory is reused only after the launches already on the stream).
void emitGpuFree(OpBuilder &builder, Location loc, Value memref,
                 func::FuncOp free);

/// Whether `buffer` and the views derived from it are used only by loads,
/// stores, deallocs and view-like ops, so that moveToMemorySpace can move
/// them.
bool canMoveToMemorySpace(Value buffer);

/// Gives the views derived from `buffer` (whose type already has `space`)
/// that memory space, in their result types.
void moveToMemorySpace(Value buffer, Attribute space);

/// Turns the loop nest `nest` (an scf.parallel that contains parallel loops,
/// or a host scf.for that does) into one kernel whose blocks each run the
/// nest's body for one iteration of `nest` (an scf.for runs in one block):
/// the sequential code of the body runs in every thread of the block, the
/// parallel loops inside are spread over the block's threads with a barrier
/// after each, stores of the sequential code are made by thread 0, and the
/// body's buffers become workgroup (shared) memory while their static sizes
/// add up to at most `workgroupBytes`, and per-block slices of one
/// host-shared buffer (freed through `free` after the launch) beyond that.
/// Returns false, and leaves the IR as it was, when the nest has no such form:
/// a parallel phase with more than `maxBlockWork` iterations or a dynamic trip
/// count, an operation the kernel cannot run (calls, constant globals, buffers
/// inside the parallel loops or sized inside the nest), or loop results.
bool formBlockKernel(Operation *nest, int64_t blockSize, int64_t maxBlockWork,
                     int64_t workgroupBytes, func::FuncOp free);

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_TRANSFORMS_GPUKERNELFORMS_H
