//===- Passes.td - megalodon transformation passes ---------*- tablegen -*-===//
#ifndef MEGALODON_TRANSFORMS_PASSES_TD
#define MEGALODON_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExpandMemRefCopy : Pass<"megalodon-expand-memref-copy"> {
  let summary = "Rewrite memref.copy as linalg.copy so it becomes loops";
  let description = [{
    Bufferization inserts `memref.copy` for copies between buffers. The LLVM
    lowering turns a copy between non-contiguous views into a call of
    `memrefCopy` from MLIR's runner support library, which compiled artifacts
    do not link. Rewriting every copy as `linalg.copy` lets the ordinary
    linalg lowering emit (vectorizable) loops instead, so artifacts stay
    self-contained.

    ```mlir
    memref.copy %a, %b : memref<4xf32, strided<[2]>> to memref<4xf32>
    // becomes
    linalg.copy ins(%a : memref<4xf32, strided<[2]>>) outs(%b : memref<4xf32>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def TileAndVectorize : Pass<"megalodon-tile-and-vectorize"> {
  let summary = "Register-tiled vector kernels for matmuls, vectorized "
                "elementwise and reduction generics";
  let description = [{
    Runs on tensors, before bufferization, and rewrites two kinds of linalg
    ops into loop nests of vector operations that LLVM maps onto FMA units:

    * `linalg.matmul` with a plain `[K, N]` or a transposed `[N, K]` B
      operand and a plain `[M, K]` or a transposed `[K, M]` A operand,
      static f32 shapes and N a multiple of `nr`,
      becomes a cache-blocked loop nest around an `mr` x `nr` register tile:
      the accumulators are `mr` vectors of `nr` lanes, each k step loads one
      `nr`-wide row of B and broadcasts one element of A per row, and the k
      loop is unrolled `k-unroll` times. B is first repacked into
      `[N / nr, K, nr]` panels so that every load is contiguous (a transposed
      B through square blocks transposed in registers; a plain B only with at
      least `pack-min-rows` rows). With that many rows a transposed A is
      repacked too, into one `[K, mr]` panel per register tile (read in
      place, successive k steps of a tile lie M * 4 bytes apart). Rows are
      blocked by about `mc` (the blocks a multiple of `threads`, the
      register tiles spread evenly over them) and the reduction by `kc`, so
      that a block of A stays in L2 while the `kc` x `nr` part of a panel is
      reused from L1 by every register tile of the block. Rows that do not
      fill a register tile get one shorter tile. The row-block loop (and the
      repacking loops) is an `scf.forall` when `parallel` is set, so the
      matmul can be split across threads.
    * A `linalg.transpose` of a square f32 block whose side is a power of two
      up to `vector-size` becomes row loads, an in-register transpose and row
      stores.
    * A `linalg.generic` with static shapes, projected-permutation indexing
      maps that keep the innermost loop contiguous, and a vectorizable body
      is tiled to one innermost strip of `vector-size` elements (the whole
      innermost loop when it is a reduction no longer than
      `max-reduction-size`) and vectorized with linalg::vectorize. Its outer
      tile loop is an `scf.forall` when `parallel` is set, the op has at
      least `min-parallel-elements` iterations and is not already inside a
      parallel loop (scans run many small generics per step).

    Ops that do not fit are left for the scalar lowering.
  }];
  let options = [
    Option<"matmul", "matmul", "bool", "true",
           "Rewrite linalg.matmul ops into register-tiled vector kernels">,
    Option<"elementwise", "elementwise", "bool", "true",
           "Tile and vectorize elementwise and reduction linalg.generic ops">,
    Option<"mr", "mr", "int64_t", "4",
           "Rows of the matmul register tile">,
    Option<"nr", "nr", "int64_t", "16",
           "Columns of the matmul register tile (vector lanes)">,
    Option<"mc", "mc", "int64_t", "48",
           "Rows of A per cache block (rounded to a multiple of mr; the "
           "register tiles are then spread evenly over the blocks)">,
    Option<"threads", "threads", "int64_t", "0",
           "Threads that share a parallel matmul: its number of row blocks "
           "is rounded up to a multiple of it (0: not rounded)">,
    Option<"kc", "kc", "int64_t", "0",
           "Reduction steps per cache block of a matmul: the kc x nr part of "
           "a panel of B that the register tiles of a row block share stays "
           "in L1 (0: the whole K)">,
    Option<"lhsRowSlices", "lhs-row-slices", "bool", "false",
           "Read a plain A that a generic computes for this matmul alone "
           "through a slice of each row block's rows, so that "
           "megalodon-fuse-matmul-prologues can fuse that generic">,
    Option<"packMinRows", "pack-min-rows", "int64_t", "16",
           "Fewest rows of C for which a plain [K, N] B is repacked into "
           "panels (a transposed B always is, unless the small-M kernel "
           "reads it in place)">,
    Option<"kUnroll", "k-unroll", "int64_t", "2",
           "Unroll factor of the matmul reduction loop">,
    Option<"gemvRows", "gemv-rows", "int64_t", "6",
           "Matmuls with a transposed B and fewer rows than this read B in "
           "place (the small-M kernel) instead of repacking it">,
    Option<"gemvNc", "gemv-nc", "int64_t", "64",
           "Columns of C per block (rounded down to a multiple of nr) of the "
           "kernel for matmuls with fewer than gemv-rows rows and a transposed B, "
           "which reads B in place instead of repacking it; the blocks form "
           "the scf.forall">,
    Option<"vectorSize", "vector-size", "int64_t", "16",
           "Lanes of the innermost tile of vectorized generics">,
    Option<"maxReductionSize", "max-reduction-size", "int64_t", "1024",
           "Longest innermost reduction vectorized as one vector">,
    Option<"parallel", "parallel", "bool", "false",
           "Emit the outermost tile loops as scf.forall">,
    Option<"minParallelElements", "min-parallel-elements", "int64_t", "32768",
           "Smallest generic (in loop iterations) given an scf.forall: "
           "below it forking threads costs more than the work">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def FuseMatmulEpilogues : Pass<"megalodon-fuse-matmul-epilogues"> {
  let summary = "Fuse row-wise consumers of a matmul into its row-block "
                "loop";
  let description = [{
    After `megalodon-tile-and-vectorize` has built a matmul as one loop over
    row blocks (marked `megalodon.matmul_row_blocks`), a consumer of the
    product would read the whole [M, N] product back from memory after the
    loop. This pass moves row-wise consumers into the loop through upstream
    consumer fusion (TilingInterface): each iteration applies them to the
    row block it has just computed, while the block is still in cache, and
    the loop yields their results too. A row-wise consumer is a
    `linalg.generic` that reads the loop's results through one parallel
    loop over their rows, which all its results vary along: elementwise
    epilogues (the bias, SiLU, gating, the residual add) and reductions over
    the columns (a softmax's row maximum and sum, then the probabilities
    from the product and both statistics, as in the loss and its gradient
    on the output projection). Fused consumers are fused again, so chains
    fuse one op at a time.
    A consumer that reads the product through a `tensor.expand_shape` (the
    model's [..., N] view of the [M, N] rows) is first collapsed to the rows.
    Side-effect-free ops that compute the consumer's other operands after
    the loop (reshapes, `tensor.empty`, constants, fills) are moved before
    it; a consumer that needs anything else computed after the loop, or
    reads the product inside its body (a gather), is left alone.

    ```mlir
    %c = scf.forall (%b) in (4) shared_outs(%out = %init) {
      ... the kernel on rows of block %b ...
      tensor.parallel_insert_slice %block into %out[...]
    } {megalodon.matmul_row_blocks}
    %y = linalg.generic {...} ins(%c, %bias ...) outs(%e ...) {...}
    // becomes one loop whose body also computes the rows of %y:
    %c, %y = scf.forall (%b) in (4) shared_outs(%out = %init, %out2 = %e) {
      ... the kernel ...
      %yb = linalg.generic {...} ins(%block, ...) outs(<slice of %out2>)
      tensor.parallel_insert_slice %block into %out[...]
      tensor.parallel_insert_slice %yb into %out2[...]
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TileGraphRows : Pass<"megalodon-tile-graph-rows", "::mlir::ModuleOp"> {
  let summary = "Tile chains of row-wise megalodon ops into loops over "
                "blocks of tokens";
  let description = [{
    Runs on megalodon ops, before any lowering. Between the ops that need
    the whole sequence (cema, timestep_norm), the ops that treat tokens
    independently (norms, linear layers, activations, residual adds, and
    chunk_attention when a block holds whole chunks) form chains. The last
    op of each chain is tiled into blocks of `rows` tokens by upstream
    tile-and-fuse through the ops' TilingInterface, and the chain's other
    ops are fused into the loop, so a block's intermediates stay in cache.
    A fused op whose result is also read outside the loop is yielded by it.

    ```mlir
    %n = megalodon.rms_norm %x weight(%w) {...} : ... -> tensor<1x512x64xf32>
    %y = megalodon.linear %n, %w1 : ... -> tensor<1x512x256xf32>
    // becomes, with rows = 128
    %y = scf.for %i = %c0 to %c512 step %c128 iter_args(%acc = %empty) {
      %xs = tensor.extract_slice %x[0, %i, 0] [1, 128, 64] [1, 1, 1]
      %ns = megalodon.rms_norm %xs weight(%w) ... -> tensor<1x128x64xf32>
      %ys = megalodon.linear %ns, %w1 : ... -> tensor<1x128x256xf32>
      ...
    }
    ```
  }];
  let options = [
    Option<"rows", "rows", "int64_t", "256",
           "Tokens per block; a chain is formed only from ops whose "
           "sequence length is a multiple of it (or shorter)">,
    Option<"parallel", "parallel", "bool", "false",
           "Make the loops over blocks scf.forall (threads take whole "
           "blocks) instead of scf.for">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def FuseMatmulPrologues : Pass<"megalodon-fuse-matmul-prologues"> {
  let summary = "Fuse the ops computing a matmul's A operand into its "
                "row-block loop";
  let description = [{
    `megalodon-tile-and-vectorize` with `lhs-row-slices` reads a plain
    `[M, K]` A that a generic computes for the matmul alone through a slice
    of the rows of each row block. When A is computed by a `linalg.generic`
    that nothing else reads (a normalization in front of a linear layer),
    computing all of A first writes it to memory and the kernel reads it
    back. This pass moves that producer into the loop through upstream
    producer fusion (TilingInterface): each iteration computes the rows of A
    its block needs, right before the kernel reads them from cache. The
    producers of a fused producer's operands are fused the same way (a
    normalization's row statistics, whose reductions run over whole rows),
    as long as each has no other reader. Producers with other readers (a
    normalization whose output the backward pass also reads) stay where
    they are: fusing them would compute them twice.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ApproximateMath : Pass<"megalodon-approximate-math"> {
  let summary = "Replace f32 transcendental functions by polynomial "
                "approximations";
  let description = [{
    The LLVM lowering turns `math.exp` and friends into libm calls, which
    scalarize vector code (one call per lane, 5-20 ns each). MLIR's polynomial
    approximations are plain arithmetic that stays vectorized (FMAs, about
    0.4 ns per element) with a relative error of a few ulp (<= 3e-7 for exp,
    tanh and log), far inside what the model tolerances allow.

    Only the functions named in `ops` (math dialect mnemonics) are rewritten.

    ```mlir
    %y = math.exp %x : vector<16xf32>
    // becomes a range reduction, a polynomial and an exponent bit-shift
    ```
  }];
  let options = [
    ListOption<"ops", "ops", "std::string",
               "Math ops to approximate (default: exp, expm1, tanh, log, "
               "log1p, log2)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def FreeParallelBuffers : Pass<"megalodon-free-parallel-buffers"> {
  let summary = "Free buffers allocated inside scf.forall bodies";
  let description = [{
    The ownership-based buffer deallocation does not handle `scf.forall`:
    buffers allocated inside a parallel body (per-chunk attention scores,
    per-thread scratch) are left without a `memref.dealloc`, so every call of
    a compiled entry point would leak them. A buffer allocated in such a body
    cannot outlive its block unless it is returned or yielded, so this pass
    frees every such buffer that does not escape at the end of the block
    that allocates it, and reports the ones that escape.

    ```mlir
    scf.forall (%i) in (2) {
      %a = memref.alloc() : memref<16x16xf32>
      ...
      // inserted:
      memref.dealloc %a : memref<16x16xf32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def ReadOnlyArguments : Pass<"megalodon-read-only-arguments",
                              "::mlir::ModuleOp"> {
  let summary = "Mark the tensor arguments of public functions read-only";
  let description = [{
    The runtime passes the same buffers to several calls (parameters bound
    once, a decoding state kept by the caller), so compiled code must only
    read its arguments. One-shot bufferization assumes function arguments
    are writable and may update one in place when the last use of a value
    is an op that overwrites it (a scan seeded with a carried state). This
    pass sets `bufferization.writable = false` on every tensor argument of
    every public function, so that bufferization copies such an argument
    before the first write instead.

    ```mlir
    func.func @f(%state: tensor<1x4xf32>) -> tensor<1x4xf32>
    // becomes
    func.func @f(%state: tensor<1x4xf32> {bufferization.writable = false})
        -> tensor<1x4xf32>
    ```
  }];
}

def Autodiff : Pass<"megalodon-autodiff", "::mlir::ModuleOp"> {
  let summary = "Reverse-mode differentiation of loss functions";
  let description = [{
    For each function `@f` named in `functions` (default: `loss`), whose
    first result is a 0-d float tensor (the loss), adds `@f_grad` with the
    same arguments and argument attributes. It returns the loss, then the
    gradient of the loss with respect to every argument tagged
    `megalodon.param`, in argument order, each result tagged
    `megalodon.grad` with the parameter's name. `@f` stays unchanged.

    Any further result of `@f` must be carried state (`megalodon.state`),
    as when a sequence is split into segments that continue each other's
    state. Then `@f_grad` takes, after the arguments of `@f`, one cotangent
    argument per float or complex state result (`megalodon.input =
    "cotangent.<name>"`: the gradient the continuation sends back), seeds
    the backward with them, and returns after the parameter gradients the
    gradient of every float or complex state argument (`megalodon.grad =
    "<name>"`). Integer state (step counts) has no gradient. The state
    results themselves are not returned.

    The body of `@f_grad` is that of `@f` followed by the vector-Jacobian
    products that each op builds through `DifferentiableOpInterface`, in
    reverse order, seeded with cotangent 1 for the loss. Only values that
    depend on a parameter or a differentiable state argument are
    differentiated (no gradient flows into tokens or targets), results that
    nothing differentiated uses get
    no cotangent (e.g. the final statistics of `timestep_norm`, the last
    state of `cema`), and a value with several uses (the residual stream, an
    embedding table shared with the output projection) gets the sum of its
    cotangents, built with `megalodon.add`. A parameter the loss does not
    depend on gets zeros. An op between a parameter and the loss that has no
    VJP (decoding-only cache ops, ops of other dialects) is an error.

    ```mlir
    func.func @loss(%x: tensor<4xf32>, %t: tensor<i32>,
                    %w: tensor<4xf32> {megalodon.param = "w"}) -> tensor<f32>
    // gains
    func.func @loss_grad(%x: tensor<4xf32>, %t: tensor<i32>,
                         %w: tensor<4xf32> {megalodon.param = "w"})
        -> (tensor<f32>, tensor<4xf32> {megalodon.grad = "w"})
    ```
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "Functions to differentiate (default: loss)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::megalodon::MegalodonDialect",
  ];
}

def BuildTrainStep : Pass<"megalodon-build-train-step", "::mlir::ModuleOp"> {
  let summary = "One optimizer step from the gradients of a loss";
  let description = [{
    From `@<loss>_grad` (built by `megalodon-autodiff`), adds `@train_step`:
    the loss's arguments, then for every parameter `p` its AdamW moments
    (`megalodon.state = "exp_avg.p"` and `"exp_avg_sq.p"`, in parameter
    order: all first moments, then all second moments), then the step number
    `t` (0-d i64, from 1; `megalodon.input = "step"`) and the learning rate
    (0-d f32; `megalodon.input = "lr"`). It returns the loss, the global
    gradient norm before clipping (`"grad_norm"`), the updated parameters
    (tagged like the arguments), the updated first moments and the updated
    second moments.

    The body is that of `@<loss>_grad`, then `megalodon.global_norm` of all
    gradients and one `megalodon.adamw` per parameter with the hyper-
    parameters of the options (defaults: MODEL.md section 11). The learning
    rate schedule stays outside: it only changes the `lr` argument.

    With `apply-gradients`, it adds `@apply_gradients` instead: the update
    alone, for gradients that were reduced across processes after the
    backward. Its arguments are the parameters of `@<loss>_grad`, one
    gradient per parameter (`megalodon.input = "grad.<name>"`), the moments,
    the step and the rate; its results are those of `@train_step` without
    the loss.
  }];
  let options = [
    Option<"lossName", "loss", "std::string", "\"loss\"",
           "The loss whose _grad function is used">,
    Option<"beta1", "beta1", "double", "0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", "0.98", "AdamW beta2">,
    Option<"eps", "eps", "double", "1e-8", "AdamW epsilon">,
    Option<"weightDecay", "weight-decay", "double", "0.1",
           "Decoupled weight decay">,
    Option<"maxGradNorm", "max-grad-norm", "double", "1.0",
           "Global gradient norm limit (0: no clipping)">,
    Option<"applyGradients", "apply-gradients", "bool", "false",
           "Build @apply_gradients (the update from given gradients) "
           "instead of @train_step">,
  ];
  let dependentDialects = ["::mlir::megalodon::MegalodonDialect"];
}


//===----------------------------------------------------------------------===//
// Tile configs
//===----------------------------------------------------------------------===//

def SelectTileConfigs : Pass<"megalodon-select-tile-configs"> {
  let summary = "Give every tunable op a tile config from the target facts";
  let description = [{
    Attaches `megalodon.tile_config` to every op implementing
    TunableOpInterface that has none. With `database`, a tuning result for
    the op (keyed by compiler version, target, the op's signature and its
    tile-space version; see megalodon/runtime/TuningDatabase.h) comes first,
    marked `source = "database"`, if the op's `verifyTileSizes` accepts it;
    otherwise the op's `getDefaultTileSizes` for the target, marked `source =
    "default"`. An unreadable database or a rejected entry is a warning, and
    the defaults apply. The target facts (vector width, registers, cache
    sizes, threads) and the key's compiler and target are the host's unless
    the options fix them, which makes the choice reproducible across
    machines (tests, cross-compiling). Configs already present (written by
    hand) are kept. With `cema-matrix-block=T`, every cema and cema_grad
    whose length T divides gets the block (matrix) form, `matrix_block = T`,
    before the database and the defaults, marked `source = "user"`. With
    `defaults=false` ops that get neither keep no config.

    ```mlir
    %y, %h = megalodon.cema %x params(...) : ...
    // gains
    {megalodon.tile_config = #megalodon.tile_config<{block_time = 64 : i64,
        lanes = 16 : i64, state_group = 4 : i64}, source = "default">}
    ```
  }];
  let options = [
    Option<"database", "database", "std::string", "",
           "Tuning database to consult (default: none)">,
    Option<"compiler", "compiler", "std::string", "",
           "Compiler version of the database key (default: this one's)">,
    Option<"targetKey", "target-key", "std::string", "",
           "Target of the database key (default: the host's)">,
    Option<"lanes", "lanes", "int64_t", "0",
           "f32 lanes of a vector register (0: the host's)">,
    Option<"registers", "registers", "int64_t", "0",
           "Vector registers (0: the host's)">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "0",
           "L1 data cache bytes per core (0: the host's)">,
    Option<"l2Bytes", "l2-bytes", "int64_t", "0",
           "L2 cache bytes per core (0: the host's)">,
    Option<"threads", "threads", "int64_t", "0",
           "Threads of the compiled code (0: the host's cores)">,
    Option<"cemaMatrixBlock", "cema-matrix-block", "int64_t", "0",
           "Blocks of the block (matrix) form for cema and cema_grad (0: "
           "off)">,
    Option<"defaults", "defaults", "bool", "true",
           "Give ops without a user or database config their defaults (off: "
           "they keep their untiled lowering; the GPU pipeline, whose "
           "kernels are not the CPU's register tiles)">,
  ];
  let dependentDialects = ["::mlir::megalodon::MegalodonDialect"];
}

def VerifyTileConfigs : Pass<"megalodon-verify-tile-configs"> {
  let summary = "Check every tile config against its op and the target";
  let description = [{
    Runs each tunable op's `verifyTileSizes` on its `megalodon.tile_config`:
    an unknown or missing size, a size that does not fit the op's shapes
    (lanes that do not divide the channels, a block longer than the
    sequence) or the target (more live vectors than registers) is an error
    located at the op, and the pass fails. Ops without a config are left
    alone: the tiling passes only transform ops that have one.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", "0",
           "f32 lanes of a vector register (0: the host's)">,
    Option<"registers", "registers", "int64_t", "0",
           "Vector registers (0: the host's)">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "0",
           "L1 data cache bytes per core (0: the host's)">,
    Option<"l2Bytes", "l2-bytes", "int64_t", "0",
           "L2 cache bytes per core (0: the host's)">,
    Option<"threads", "threads", "int64_t", "0",
           "Threads of the compiled code (0: the host's cores)">,
  ];
}

#endif // MEGALODON_TRANSFORMS_PASSES_TD

def MapLoopsToGpu : Pass<"megalodon-map-loops-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Form GPU kernels from the bufferized loop nests of each function";
  let description = [{
    The kernel-forming step of the GPU pipeline, on bufferized IR whose
    linalg ops have become `scf.parallel` loop nests:

    * every outermost `scf.parallel` that contains no other `scf.parallel`
      becomes one `gpu.launch`: its iteration space is linearized, blocks of
      `block-size` threads each take consecutive iterations (the innermost
      dimension varies fastest, so neighbouring threads touch neighbouring
      elements), and a guard masks the ragged last block;
    * a loop nest whose parallel loops sit inside a sequential loop (the
      scans over time) or inside another parallel loop (attention's chunk
      loop) becomes one kernel when each of its parallel loops has at most
      `max-block-work` iterations: a block per iteration of the outer
      parallel loop (one block for a sequential loop) runs the nest's
      sequential code in every thread, spreads each parallel loop over its
      threads with barriers around it, makes the sequential code's stores
      from thread 0, and puts the nest's buffers in workgroup memory (static
      sizes, up to `workgroup-bytes`) or in a per-block slice of one
      host-shared allocation (BlockKernels.cpp);
    * any other parallel loop that encloses parallel loops runs as a
      sequential host loop, so that the loops it encloses each get the
      whole GPU;
    * host buffers become `gpu.alloc host_shared` (memory both processors
      address), constant globals are copied into such buffers, and
      `memref.alloca` at host level becomes such an allocation too;
    * launches are ordered on one stream and not waited for: a call of
      `@megalodon_gpu_sync` (implemented by the runtime) is inserted before
      every host operation that reads or writes buffer contents and before
      every return.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c64) step (%c1, %c1) {...}
    // becomes
    gpu.launch blocks(%bx, ...) in (%gx = %c1, ...) threads(%tx, ...) in
        (%sx = %c256, ...) {
      %id = bx * 256 + tx; scf.if %id < 256 { %i, %j = delinearize %id ... }
    }
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "Threads per block of every formed kernel">,
    Option<"maxBlockWork", "max-block-work", "int64_t", "65536",
           "Most iterations of one parallel loop in a nest that runs in one "
           "block (0: every nest launches its parallel loops from the host)">,
    Option<"workgroupBytes", "workgroup-bytes", "int64_t", "49152",
           "Workgroup (shared) memory for the statically sized buffers of a "
           "nest that runs in one block; larger ones use global memory">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def MergeGpuModules : Pass<"megalodon-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Put every outlined kernel into one gpu.module";
  let description = [{
    Kernel outlining makes one `gpu.module` per kernel, named after it. A
    model has thousands of kernels; one module per kernel means as many
    PTX compilations at build time and as many driver module loads (each
    JIT-compiled) when an artifact is opened. This pass moves every kernel
    into one module, `@megalodon_kernels`, renames each kernel after the
    module it came from (those names are unique), and points every
    `gpu.launch_func` at the new symbol.

    ```mlir
    gpu.module @f_kernel { gpu.func @f_kernel(...) kernel {...} }
    gpu.module @f_kernel_0 { gpu.func @f_kernel(...) kernel {...} }
    // becomes
    gpu.module @megalodon_kernels {
      gpu.func @f_kernel(...) kernel {...}
      gpu.func @f_kernel_0(...) kernel {...}
    }
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def DefineLibdeviceFunctions
    : Pass<"megalodon-define-libdevice-functions", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Give the libdevice functions kernels call bodies of NVVM "
                "intrinsics";
  let description = [{
    convert-gpu-to-nvvm lowers math ops to calls of libdevice functions
    (`__nv_sqrtf`, ...), whose definitions are bitcode shipped with the CUDA
    toolkit. The GPU pipeline approximates transcendentals before that
    conversion; this pass defines the rest, so the PTX is complete without
    the toolkit:

    * `__nv_sqrtf(x)` = `llvm.nvvm.sqrt.rn.f(x)` (IEEE round-to-nearest),
    * `__nv_rsqrtf(x)` = 1 / `llvm.nvvm.sqrt.rn.f(x)` (correctly rounded
      division),
    * `__nv_floorf(x)` = `llvm.nvvm.floor.f(x)`,
    * `__nv_fmaf(a, b, c)` = `llvm.nvvm.fma.rn.f(a, b, c)`,
    * `__nv_fabsf(x)` = `llvm.nvvm.fabs.f(x)`.

    Any other libdevice function declared in the module is an error that
    names it.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def TileGpuMatmuls : Pass<"megalodon-tile-gpu-matmuls", "::mlir::ModuleOp"> {
  let summary = "Tile the matmuls of the GPU pipeline into per-block C tiles "
                "with copied operand tiles";
  let description = [{
    On tensor-level linalg (before bufferization), every contraction with
    one K dimension outside an `scf.forall` becomes an `scf.forall` over `tile-m` x `tile-n`
    tiles of its result, each running an `scf.for` over `tile-k` slices of
    the reduction (where M or N spans several loops, as after a fused
    reshape, the innermost takes the tile and the others, like batch loops,
    tiles of one). In each step the A and B slices are copied into tiles of
    static size (`tensor.pad` with zeros past the edges) and the C tile is
    padded only where it is ragged. After bufferization the copies are
    buffers of the forall's iteration, which the block form of
    `megalodon-map-loops-to-gpu` makes per-block: a block reads each
    operand element from global memory once, not once per output.
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", "64", "Rows of a block's C tile">,
    Option<"tileN", "tile-n", "int64_t", "64", "Columns of a block's C tile">,
    Option<"tileK", "tile-k", "int64_t", "16",
           "Depth of the operand tiles copied per step">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect"];
}

def EmulateGpuLaunches
    : Pass<"megalodon-emulate-gpu-launches", "::mlir::ModuleOp"> {
  let summary = "Run the kernels megalodon-map-loops-to-gpu forms on the host";
  let description = [{
    A check of the GPU pipeline's kernel forming without a GPU: after
    `megalodon-map-loops-to-gpu` with `block-size=1`, every `gpu.launch`
    becomes host loops over its blocks, with its single thread's ids and
    block size as constants (0 and 1) and its barriers dropped (one thread
    has nothing to wait for). Host-shared allocations become `memref.alloc`,
    the runtime's frees `memref.dealloc`, its syncs nothing. The result
    compiles for the CPU, so the kernels' index arithmetic, loop
    distribution, per-block buffers and scans can be run and compared with
    the reference. What it cannot check is the order between threads.

    ```mlir
    gpu.launch blocks(%bx, ...) in (%gx = %n, ...) threads(%tx, ...) in
        (%sx = %c1, ...) { ... gpu.barrier ... }
    // becomes
    scf.for %bx = %c0 to %n step %c1 { ... }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def InterchangeElementwiseScans
    : Pass<"megalodon-interchange-elementwise-scans"> {
  let summary = "Move sequential loops over elementwise parallel loops inside them";
  let description = [{
    A sequential `scf.for` whose body is parallel loops with one iteration
    space, in which every iteration reads and writes only its own elements of
    the buffers the loop writes, is one parallel loop over independent
    sequential ones: each element's chain of steps never meets another's.
    This pass rewrites it that way, so that the GPU mapping gives every
    element a thread that walks the steps, instead of a host loop or a
    one-block kernel that synchronizes all elements at every step. cema's
    scan over blocks and the powers of its decay are such loops.

    ```mlir
    scf.for %m = %c0 to %c4 step %c1 {
      scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
        %h = memref.load %state[%i] : memref<64xf32>
        memref.store %h, %entering[%m, %i] : memref<4x64xf32>
        ...
        memref.store %next, %state[%i] : memref<64xf32>
      }
    }
    // becomes
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      scf.for %m = %c0 to %c4 step %c1 { ... }
    }
    ```

    "Its own elements": every access to a buffer the loop writes, traced
    through `memref.subview`s with unit strides to its `memref.alloc`,
    indexes that allocation with each parallel induction variable itself, in
    the same dimension and at the same loop-invariant offset as every other
    access to it. Stores to anything but an allocation, other memory effects
    (copies, allocations inside the loop), loop-carried values and reductions
    leave the loop as it is. Inner loops are rewritten first, so nests of
    such loops become one parallel loop.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def EstimateKernelCosts : Pass<"megalodon-estimate-kernel-costs", "::mlir::ModuleOp"> {
  let summary = "Record the FLOPs and bytes of one launch of every kernel";
  let description = [{
    For every `gpu.launch_func` of an outlined kernel, counts what one launch
    does and records it in the module attribute `megalodon.kernel_costs`:
    kernel name -> [FLOPs, bytes]. Benchmarks divide these by the measured
    kernel times (achieved TFLOP/s and GB/s).

    * FLOPs: every floating-point arithmetic op, comparison and math
      function is one per element, a fused multiply-add two, times the
      number of times it runs: once per block outside any loop (code that
      every thread of a block repeats counts once); `trip count` times
      inside a loop with constant bounds; `n` times in all inside the
      one-iteration-per-thread guard `block_id * size + thread_id < n`;
      `n` times per block inside a thread-strided loop up to `n`. Branches
      count as taken. Constants include kernel arguments whose launch
      operands are constants. A trip count that is none makes the FLOPs
      unknown, recorded as -1.
    * Bytes: the static sizes of the buffer arguments the kernel reads or
      writes, each once: the compulsory traffic. Rereads that miss the
      caches come on top, so GB/s from it is a lower bound.

    ```mlir
    module attributes {megalodon.kernel_costs = {
        forward_kernel = array<i64: 131072, 1048576>, ...}}
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def HintBlockKernelOccupancy
    : Pass<"megalodon-hint-block-kernel-occupancy", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Let kernels with barriers use registers for fewer resident blocks";
  let description = [{
    A kernel whose blocks synchronize (the block form of
    `megalodon-map-loops-to-gpu`: a whole loop nest per block) keeps its
    sequential code's values live across many phases. Given only the
    block size (`.maxntid`), ptxas caps registers as if many such blocks had
    to share an SM and spills; the spills sit inside the scans' time loops.
    This pass marks every kernel that contains a `gpu.barrier` with
    `nvvm.minctasm = blocks-per-sm` (PTX `.minnctapersm`), so that ptxas
    budgets registers for that many resident blocks instead.

    ```mlir
    gpu.func @k() kernel { ... gpu.barrier ... }
    // becomes
    gpu.func @k() kernel attributes {nvvm.minctasm = 2 : i32} { ... }
    ```
  }];
  let options = [
    Option<"blocksPerSm", "blocks-per-sm", "int64_t", "2",
           "Resident blocks per SM that register allocation must allow">,
  ];
}

def ScopeLaunchStack : Pass<"megalodon-scope-launch-stack", "::mlir::ModuleOp"> {
  let summary = "Free the stack each kernel launch takes for its arguments";
  let description = [{
    A `gpu.launch_func` becomes, when the host module is translated to LLVM
    IR, stack slots for its kernel's arguments and a call of the launch ABI.
    Those slots are allocated where the launch is, so a launch inside a host
    loop (the timestep norm's loop over time, attention's loop over chunks)
    takes new stack on every iteration: at 2048 positions that overflows the
    stack. This pass brackets every launch with `llvm.intr.stacksave` and
    `llvm.intr.stackrestore`, so each launch's slots are released after it.

    ```mlir
    gpu.launch_func @kernels::@k blocks in (...) threads in (...) args(...)
    // becomes
    %sp = llvm.intr.stacksave : !llvm.ptr
    gpu.launch_func @kernels::@k blocks in (...) threads in (...) args(...)
    llvm.intr.stackrestore %sp : !llvm.ptr
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}
