//===- OptimizerRules.cpp - Reference rules of the optimizer ops ----------===//

#include "OptimizerRules.h"

#include <cmath>

using namespace mlir::megalodon;

namespace megalodon::ref::detail {

llvm::Error evaluateGlobalNorm(GlobalNormOp op, ValueStore &store) {
  double sum = 0.0;
  for (mlir::Value t : op.getTensors())
    for (double v : store.get(t).real)
      sum += v * v;
  store.define(op.getNorm(), RefValue::realTensor({}, {std::sqrt(sum)}));
  return llvm::Error::success();
}

llvm::Error evaluateAdamW(AdamWOp op, ValueStore &store) {
  const int64_t t = ValueStore::scalar(store.get(op.getStep()));
  if (t < 1)
    return ValueStore::error(op, "step must be >= 1, got " +
                                     std::to_string(t));
  const double lr = store.get(op.getLr()).real.at(0);
  const double norm = store.get(op.getGradNorm()).real.at(0);
  const double beta1 = op.getBeta1().convertToDouble();
  const double beta2 = op.getBeta2().convertToDouble();
  const double eps = op.getEps().convertToDouble();
  const double decay = op.getWeightDecay().convertToDouble();
  const double maxNorm = op.getMaxGradNorm().convertToDouble();
  // torch.nn.utils.clip_grad_norm_: scale by min(1, max / (norm + 1e-6)).
  const double clip =
      maxNorm > 0.0 ? std::min(1.0, maxNorm / (norm + 1e-6)) : 1.0;
  const double correction1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  const double correction2 = 1.0 - std::pow(beta2, static_cast<double>(t));

  const std::vector<double> &p = store.get(op.getParam()).real;
  const std::vector<double> &g = store.get(op.getGrad()).real;
  const std::vector<double> &m = store.get(op.getExpAvg()).real;
  const std::vector<double> &v = store.get(op.getExpAvgSq()).real;
  RefValue &pOut = store.defineReal(op.getParamOut());
  RefValue &mOut = store.defineReal(op.getExpAvgOut());
  RefValue &vOut = store.defineReal(op.getExpAvgSqOut());
  if (!std::isfinite(norm)) {
    // A skipped step: nothing changes.
    pOut.real = p;
    mOut.real = m;
    vOut.real = v;
    return llvm::Error::success();
  }
  for (size_t i = 0; i < p.size(); ++i) {
    const double gi = clip * g[i];
    const double mi = beta1 * m[i] + (1.0 - beta1) * gi;
    const double vi = beta2 * v[i] + (1.0 - beta2) * gi * gi;
    const double denom = std::sqrt(vi) / std::sqrt(correction2) + eps;
    pOut.real[i] = p[i] * (1.0 - lr * decay) - lr / correction1 * mi / denom;
    mOut.real[i] = mi;
    vOut.real[i] = vi;
  }
  return llvm::Error::success();
}

} // namespace megalodon::ref::detail
