//===- CompiledTrainingTest.cpp - Compiled training vs the reference ------===//
//
// The compiled training functions of the tiny model (and a variant with
// every optional feature on) against the fp64 reference interpreter:
//  * @loss_grad: the loss (relative error <= 1e-5) and every parameter's
//    gradient (|compiled - reference|_2 <= 1e-4 |reference|_2);
//  * @train_step, two steps: losses and gradient norms (relative 1e-4), and
//    the parameter updates (|d_compiled - d_reference|_2 <= 1e-2
//    |d_reference|_2: Adam divides each moment by the root of the second,
//    which amplifies f32 rounding where a gradient is near zero);
//  * and, compiled only: two runs are bit-identical, and a run of four steps
//    equals two steps + checkpoint + reload + two steps, bit for bit.
//
//===----------------------------------------------------------------------===//

#include "ModelTestUtils.h"

#include "megalodon/Driver/Trainer.h"
#include "megalodon/Model/Parameters.h"
#include "megalodon/runtime/Checkpoint.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <unistd.h>

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

constexpr int64_t kBatch = 2;

struct Variant {
  const char *name;
  void (*apply)(ModelConfig &);
  /// Sequence length in chunks.
  int64_t chunks;
  /// Pipeline options of the compiled code (the backend's), for forms off
  /// by default.
  const char *pipelineOptions = "";
  const char *backend = "cpu";
};

/// Test output names the variant rather than printing the struct's bytes.
void PrintTo(const Variant &v, std::ostream *os) { *os << v.name; }

const Variant kVariants[] = {
    {"Tiny", [](ModelConfig &) {}, 2},
    {"AllFeatures",
     [](ModelConfig &c) {
       c.share_emb = c.swiglu = c.rescale_nffn = c.scale_emb = true;
       c.norm_affine = false;
     },
     2},
    // Row blocks of one chunk across the forward's ops
    // (megalodon-tile-graph-rows), taken by threads, with the backward
    // reading what the loops yield.
    {"TinyGraphRows", [](ModelConfig &) {}, 2,
     "graph-row-block=16 graph-row-parallel=true"},
    // cema and cema_grad in the block (matrix) form, 4 blocks of 8 steps.
    {"TinyCemaMatrixForm", [](ModelConfig &) {}, 2, "cema-matrix-block=8"},
    // The GPU pipeline's kernels (scans and chunk loops as block kernels,
    // cema and cema_grad in 4 blocks of 8 steps) run on the host, one
    // thread per block: their forming is checked here without a GPU.
    {"TinyGpuKernelsEmulated", [](ModelConfig &) {}, 2, "cema-matrix-block=8",
     "gpu-emulation"},
};

double relativeError(const std::vector<double> &got,
                     const std::vector<double> &want) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

RefValue integers(const std::vector<int64_t> &tokens, int64_t B, int64_t L) {
  return RefValue::integerTensor({B, L}, tokens);
}

RefValue real(const rt::HostTensor &t) {
  return RefValue::realTensor(t.shape, t.toF64());
}

class CompiledTrainingTest : public ::testing::TestWithParam<Variant> {
protected:
  void SetUp() override {
    config = tinyConfig();
    GetParam().apply(config);
    L = GetParam().chunks * config.chunk_size;
    weights = perturbedWeights(config, 3);
    tokens = randomTokens(kBatch * L, config.vocab_size, 31);
    targets = randomTokens(kBatch * L, config.vocab_size, 32);
    compile.cacheDir = ::testing::TempDir() + "megalodon-training-artifacts";
    compile.pipelineOptions = GetParam().pipelineOptions;
    compile.backend = GetParam().backend;
    auto created =
        CompiledTrainer::create(config, kBatch, L, optimizer, compile,
                                /*withGradients=*/true);
    ASSERT_TRUE(static_cast<bool>(created))
        << llvm::toString(created.takeError());
    trainer = std::move(*created);
  }

  /// The reference module with @loss_grad and @train_step.
  mlir::func::FuncOp referenceFunc(const std::string &name) {
    loadModelDialects(context);
    BuildOptions options;
    options.batch = kBatch;
    options.seqLen = L;
    options.emitForward = options.emitDecode = false;
    auto module = buildModelModule(context, config, options);
    if (!module) {
      ADD_FAILURE() << llvm::toString(module.takeError());
      return {};
    }
    holder = std::move(*module);
    if (llvm::Error err = addTrainingFunctions(*holder, optimizer)) {
      ADD_FAILURE() << llvm::toString(std::move(err));
      return {};
    }
    return holder->lookupSymbol<mlir::func::FuncOp>(name);
  }

  /// Arguments of a reference function from a state (by argument tags).
  std::vector<RefValue> referenceArgs(mlir::func::FuncOp func,
                                      const TrainState &state,
                                      double lr) {
    std::vector<RefValue> args;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      if (auto p = func.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr)) {
        args.push_back(real(state.params.at(p.str())));
      } else if (auto s =
                     func.getArgAttrOfType<mlir::StringAttr>(i, kStateAttr)) {
        args.push_back(real(state.moments.at(s.str())));
      } else {
        auto in = func.getArgAttrOfType<mlir::StringAttr>(i, kInputAttr);
        std::string name = in ? in.str() : "";
        if (name == "tokens")
          args.push_back(integers(tokens, kBatch, L));
        else if (name == "targets")
          args.push_back(integers(targets, kBatch, L));
        else if (name == "step")
          args.push_back(RefValue::integerTensor({}, {state.step + 1}));
        else if (name == "lr")
          args.push_back(RefValue::realTensor({}, {lr}));
        else
          ADD_FAILURE() << "unexpected argument '" << name << "'";
      }
    }
    return args;
  }

  rt::HostTensor batchTokens() const { return tokenTensor(tokens, kBatch, L); }
  rt::HostTensor batchTargets() const {
    return tokenTensor(targets, kBatch, L);
  }

  ModelConfig config;
  int64_t L = 0;
  rt::TensorMap weights;
  std::vector<int64_t> tokens, targets;
  OptimizerOptions optimizer;
  CpuCompileOptions compile;
  std::unique_ptr<CompiledTrainer> trainer;
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> holder;
};

TEST_P(CompiledTrainingTest, GradientsMatchReference) {
  TrainState state = TrainState::fresh(config, weights);
  rt::TensorMap grads;
  auto loss =
      trainer->gradients(state, batchTokens(), batchTargets(), grads);
  ASSERT_TRUE(static_cast<bool>(loss)) << llvm::toString(loss.takeError());

  mlir::func::FuncOp func = referenceFunc("loss_grad");
  ASSERT_TRUE(func);
  auto expected = ref::interpret(func, referenceArgs(func, state, 0.0));
  ASSERT_TRUE(static_cast<bool>(expected))
      << llvm::toString(expected.takeError());
  EXPECT_NEAR(*loss, (*expected)[0].real[0],
              1e-5 * std::abs((*expected)[0].real[0]));
  size_t next = 1;
  double worst = 0.0;
  std::string worstName;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto p = func.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr);
    if (!p)
      continue;
    double err = relativeError(grads.at(p.str()).toF64(),
                               (*expected)[next++].real);
    EXPECT_LE(err, 1e-4) << "gradient of " << p.str();
    if (err > worst) {
      worst = err;
      worstName = p.str();
    }
  }
  EXPECT_EQ(next, expected->size());
  std::printf("  worst gradient relative error %.3e (%s)\n", worst,
              worstName.c_str());
}

TEST_P(CompiledTrainingTest, TrainStepsMatchReference) {
  mlir::func::FuncOp func = referenceFunc("train_step");
  ASSERT_TRUE(func);
  TrainState compiled = TrainState::fresh(config, weights);
  TrainState reference = compiled;
  const double lr = 1e-2;
  for (int step = 0; step < 2; ++step) {
    auto got = trainer->step(compiled, batchTokens(), batchTargets(), lr);
    ASSERT_TRUE(static_cast<bool>(got)) << llvm::toString(got.takeError());
    auto results = ref::interpret(func, referenceArgs(func, reference, lr));
    ASSERT_TRUE(static_cast<bool>(results))
        << llvm::toString(results.takeError());
    const double loss = (*results)[0].real[0];
    const double norm = (*results)[1].real[0];
    EXPECT_NEAR(got->loss, loss, 1e-4 * std::abs(loss)) << "step " << step;
    EXPECT_NEAR(got->gradNorm, norm, 1e-4 * norm) << "step " << step;

    // Results 2.. are the parameters, then the moments; compare the update
    // each parameter received, not the parameter.
    for (unsigned r = 2; r < func.getNumResults(); ++r) {
      auto p = func.getResultAttrOfType<mlir::StringAttr>(r, kParamAttr);
      if (!p)
        continue;
      std::vector<double> before = reference.params.at(p.str()).toF64();
      std::vector<double> after = compiled.params.at(p.str()).toF64();
      const std::vector<double> &values = (*results)[r].real;
      std::vector<double> want(values.size()), have(values.size());
      for (size_t i = 0; i < values.size(); ++i) {
        want[i] = values[i] - before[i];
        have[i] = after[i] - before[i];
      }
      EXPECT_LE(relativeError(have, want), 1e-2)
          << "update of " << p.str() << " at step " << step;
    }
    // Both continue from the compiled state, so that errors do not add up.
    reference = compiled;
  }
}

/// Every tensor of two states, bit for bit.
void expectIdentical(const TrainState &a, const TrainState &b) {
  EXPECT_EQ(a.step, b.step);
  for (const rt::TensorMap *maps : {&a.params, &a.moments}) {
    const rt::TensorMap &other = maps == &a.params ? b.params : b.moments;
    for (const auto &[name, tensor] : *maps) {
      const rt::HostTensor &t = other.at(name);
      ASSERT_EQ(tensor.bytes.size(), t.bytes.size()) << name;
      EXPECT_EQ(0, std::memcmp(tensor.bytes.data(), t.bytes.data(),
                               t.bytes.size()))
          << name << " differs";
    }
  }
}

TEST_P(CompiledTrainingTest, ResumeFromCheckpointIsBitExact) {
  const double lr = 3e-3;
  auto run = [&](TrainState &state, int steps) {
    for (int i = 0; i < steps; ++i) {
      auto r = trainer->step(state, batchTokens(), batchTargets(), lr);
      ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
    }
  };
  TrainState straight = TrainState::fresh(config, weights);
  run(straight, 4);
  TrainState again = TrainState::fresh(config, weights);
  run(again, 4);
  expectIdentical(straight, again);

  TrainState first = TrainState::fresh(config, weights);
  run(first, 2);
  std::string dir = ::testing::TempDir() + "megalodon-resume-" +
                    std::to_string(::getpid()) + "-" + GetParam().name;
  std::filesystem::remove_all(dir);
  rt::Checkpoint checkpoint;
  checkpoint.configJson = modelConfigToJson(config);
  checkpoint.model = first.weights(config);
  checkpoint.optimizer = first.moments;
  checkpoint.trainerJson = "{}";
  ASSERT_TRUE(rt::saveCheckpoint(dir, first.step, checkpoint).ok());
  rt::Checkpoint loaded;
  ASSERT_TRUE(rt::loadCheckpoint(dir, loaded).ok());
  ASSERT_TRUE(checkParameters(config, loaded.model).ok());
  TrainState resumed = TrainState::fresh(config, loaded.model);
  resumed.moments = loaded.optimizer;
  resumed.step = first.step;
  run(resumed, 2);
  expectIdentical(straight, resumed);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Configs, CompiledTrainingTest,
                         ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
