//===- MegalodonToLinalg.h - Patterns by op family --------------*- C++ -*-===//
//
// Each op family's lowering lives in its own source file under
// lib/Conversion/MegalodonToLinalg/ and contributes its patterns here. The
// patterns produce tensor-level upstream IR (linalg, tensor, scf, arith,
// math); bufferization and the CPU/GPU pipelines take it from there.
//
// Compiled code computes in f32: every pattern fails to match (leaving the
// op for the pass to report) on other element types.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_CONVERSION_MEGALODONTOLINALG_H
#define MEGALODON_CONVERSION_MEGALODONTOLINALG_H

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace mlir::megalodon {

/// add, mul, silu, swiglu, scale_channels (Elementwise.cpp).
void populateElementwiseToLinalgPatterns(RewritePatternSet &patterns);
/// rms_norm, layer_norm (Norms.cpp).
void populateNormsToLinalgPatterns(RewritePatternSet &patterns);
/// linear, embedding, cross_entropy (Dense.cpp).
void populateDenseToLinalgPatterns(RewritePatternSet &patterns);
/// timestep_norm: a scan over time with the statistics carried (TimestepNorm.cpp).
void populateTimestepNormToLoopsPatterns(RewritePatternSet &patterns);
/// cema: a scan over time with the complex state carried (Cema.cpp).
void populateCemaToLoopsPatterns(RewritePatternSet &patterns);
/// shared_qk, rotary, chunk_attention, kv_cache_update (Attention.cpp).
void populateAttentionToLinalgPatterns(RewritePatternSet &patterns);
/// global_norm, adamw (Optimizer.cpp).
void populateOptimizerToLinalgPatterns(RewritePatternSet &patterns);

// The gradient ops (MegalodonGradOps.td), one file per family like the
// forward ops.

/// linear_grad, embedding_grad, cross_entropy_grad, silu_grad, swiglu_grad,
/// scale_channels_grad (DenseGrad.cpp).
void populateDenseGradToLinalgPatterns(RewritePatternSet &patterns);
/// rms_norm_grad, layer_norm_grad (NormsGrad.cpp).
void populateNormsGradToLinalgPatterns(RewritePatternSet &patterns);
/// timestep_norm_grad: a forward scan for the statistics, then a reverse
/// scan for the cotangents (TimestepNormGrad.cpp).
void populateTimestepNormGradToLoopsPatterns(RewritePatternSet &patterns);
/// cema_grad: the reverse-time adjoint scan (CemaGrad.cpp).
void populateCemaGradToLoopsPatterns(RewritePatternSet &patterns);
/// shared_qk_grad, rotary_grad, chunk_attention_grad (AttentionGrad.cpp).
void populateAttentionGradToLinalgPatterns(RewritePatternSet &patterns);

} // namespace mlir::megalodon

#endif // MEGALODON_CONVERSION_MEGALODONTOLINALG_H
