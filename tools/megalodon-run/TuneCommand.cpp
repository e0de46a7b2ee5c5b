//===- TuneCommand.cpp - megalodon-run tune -------------------------------===//
//
// Autotunes the tile sizes of a training step: for each distinct tunable op
// of @loss / @train_step (same name, types and tile-space version), every
// candidate its TunableOpInterface lists is compiled alone (the op with the
// candidate's config, in a function of its own) and timed: one warm-up
// call, then the median of repeated calls. When the best candidate beats
// the default by less than the noise margin, both are timed again with
// twice the calls, and the default wins ties, so that noise does not pick
// different configs from run to run. Results go to the tuning database
// (atomically, one entry per op key), which every later compile reads;
// ops already there are skipped unless --tuning=refresh. Finally the whole
// training step is compiled with the database and without it and both are
// timed, side by side.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "IsolatedOp.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/Driver/Trainer.h"
#include "megalodon/Model/Parameters.h"
#include "megalodon/runtime/TuningDatabase.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <random>

using namespace megalodon;
namespace cl = llvm::cl;
namespace mm = mlir::megalodon;

cl::SubCommand
    tool::tuneCommand("tune", "Autotune tile sizes into the tuning database");

static cl::OptionCategory tuneCategory("tune options");
#define TUNE_OPT cl::sub(tool::tuneCommand), cl::cat(tuneCategory)

static cl::opt<std::string> configPath("config",
                                       cl::desc("Model config (JSON)"),
                                       cl::value_desc("file"), TUNE_OPT);
static cl::opt<int64_t> seqLen("seq-len",
                               cl::desc("Window length L (default chunk_size)"),
                               cl::init(0), TUNE_OPT);
static cl::opt<int64_t> batch("batch", cl::desc("Windows per step"),
                              cl::init(1), TUNE_OPT);
static cl::opt<std::string> backend("backend",
                                    cl::desc("cpu (cuda: not built yet)"),
                                    cl::init("cpu"), TUNE_OPT);
static cl::opt<double> budget("budget",
                              cl::desc("Seconds of candidate measurements, "
                                       "shared by the ops"),
                              cl::init(120), TUNE_OPT);
static cl::opt<std::string>
    tuning("tuning",
           cl::desc("cached: skip ops the database has; refresh: measure "
                    "them again"),
           cl::init("cached"), TUNE_OPT);
static cl::opt<std::string>
    databasePath("database",
                 cl::desc("Tuning database (default: $MEGALODON_TUNING_DB, "
                          "else tuning.json in the cache directory)"),
                 cl::value_desc("file"), TUNE_OPT);
static cl::opt<int> repeats("repeats", cl::desc("Timed calls per candidate"),
                            cl::init(5), TUNE_OPT);
static cl::opt<bool> endToEnd("end-to-end",
                              cl::desc("Time the whole training step with "
                                       "and without the results"),
                              cl::init(true), TUNE_OPT);
static cl::opt<int64_t> threads("threads",
                                cl::desc("Threads of the compiled code"),
                                cl::init(0), TUNE_OPT);
static cl::opt<std::string>
    cacheDir("cache-dir", cl::desc("Artifact cache directory"), TUNE_OPT);

namespace {
using Clock = std::chrono::steady_clock;

/// A best time must beat the default by this fraction to replace it.
constexpr double kNoiseMargin = 0.02;

/// A tile-size dictionary as the database stores it.
std::vector<std::pair<std::string, int64_t>> toSizes(mlir::DictionaryAttr d) {
  std::vector<std::pair<std::string, int64_t>> sizes;
  for (mlir::NamedAttribute entry : d)
    sizes.emplace_back(
        entry.getName().str(),
        mlir::cast<mlir::IntegerAttr>(entry.getValue()).getInt());
  return sizes;
}

/// "block_time=64,lanes=16".
std::string describe(const std::vector<std::pair<std::string, int64_t>> &s) {
  std::string text;
  for (const auto &[name, value] : s)
    text += (text.empty() ? "" : ",") + name + "=" + std::to_string(value);
  return text;
}

/// One distinct tunable op of the step and what tuning found.
struct TunedOp {
  mm::TunableOpInterface op;
  rt::TuningKey key;
  int count = 0;
};

class Tuner {
public:
  Tuner(const CpuCompileOptions &options, int calls)
      : options(options), calls(calls) {}

  /// Measures the candidates of `tuned.op` within `seconds` and returns the
  /// database entry of the winner.
  llvm::Expected<rt::TuningEntry> tune(const TunedOp &tuned, double seconds) {
    mm::TargetFacts target = mm::TargetFacts::host(threads);
    mm::TunableOpInterface op = tuned.op;
    mlir::DictionaryAttr defaults = op.getDefaultTileSizes(target);
    std::vector<mlir::DictionaryAttr> candidates{defaults};
    for (mlir::DictionaryAttr c : op.enumerateTileSizes(target))
      if (c != defaults)
        candidates.push_back(c);
    auto start = Clock::now();
    // candidates[0], the default, is always measured.
    std::vector<double> times;
    for (mlir::DictionaryAttr c : candidates) {
      if (!times.empty() &&
          std::chrono::duration<double>(Clock::now() - start).count() > seconds)
        break;
      auto t = tool::timeIsolatedOp(tuned.op, c, options, calls);
      if (!t)
        return t.takeError();
      times.push_back(*t);
      llvm::outs() << llvm::format("    %-44s %9.1f us\n",
                                   describe(toSizes(c)).c_str(), *t * 1e6);
      llvm::outs().flush();
    }
    size_t measured = times.size();
    size_t winner =
        std::min_element(times.begin(), times.end()) - times.begin();
    mlir::DictionaryAttr best = candidates[winner];
    double bestTime = times[winner], defaultTime = times[0];
    // A close call is measured again, longer; the default keeps ties.
    if (best != defaults && bestTime > defaultTime * (1 - kNoiseMargin)) {
      auto again = tool::timeIsolatedOp(tuned.op, best, options, 2 * calls);
      auto base = tool::timeIsolatedOp(tuned.op, defaults, options, 2 * calls);
      if (!again)
        return again.takeError();
      if (!base)
        return base.takeError();
      bestTime = *again;
      defaultTime = *base;
      if (bestTime > defaultTime * (1 - kNoiseMargin)) {
        best = defaults;
        bestTime = defaultTime;
      }
    }
    llvm::outs() << llvm::format("  %zu of %zu candidates measured\n", measured,
                                 candidates.size());
    rt::TuningEntry entry;
    entry.key = tuned.key;
    entry.sizes = toSizes(best);
    entry.timeNs = static_cast<int64_t>(bestTime * 1e9);
    entry.defaultTimeNs = static_cast<int64_t>(defaultTime * 1e9);
    return entry;
  }

private:
  CpuCompileOptions options;
  int calls;
};

/// Median seconds of a training step compiled with `options`.
llvm::Expected<double> timeTrainStep(const ModelConfig &config, int64_t L,
                                     const CpuCompileOptions &options) {
  auto trainer =
      CompiledTrainer::create(config, batch, L, OptimizerOptions(), options);
  if (!trainer)
    return trainer.takeError();
  TrainState state = TrainState::fresh(config, initializeParameters(config, 0));
  rt::HostTensor tokens = rt::HostTensor::zeros(rt::DType::I32, {batch, L});
  std::vector<double> times;
  for (int i = 0; i <= 3; ++i) {
    auto start = Clock::now();
    auto result = (*trainer)->step(state, tokens, tokens, 1e-5);
    if (!result)
      return result.takeError();
    if (i > 0)
      times.push_back(
          std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

} // namespace

llvm::Error tool::runTune() {
  if (llvm::Error err = requireFlags({{&configPath.getValue(), "config"}}))
    return err;
  if (backend != "cpu")
    return llvm::createStringError("--backend " + backend +
                                   ": only cpu is built so far");
  if (tuning != "cached" && tuning != "refresh")
    return llvm::createStringError("--tuning must be cached or refresh, got '" +
                                   tuning + "'");
  if (threads > 0)
    setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  auto config = loadModelConfig(configPath);
  if (!config)
    return config.takeError();
  int64_t L = seqLen > 0 ? seqLen : config->chunk_size;
  std::string database = databasePath.empty()
                             ? defaultTuningDatabasePath(cacheDir)
                             : databasePath.getValue();
  rt::TuningDatabase tuned;
  rt::Status read = rt::readTuningDatabase(database, tuned);
  if (!read.ok()) {
    llvm::errs() << "warning: " << read.message()
                 << "; starting a new database\n";
    tuned = rt::TuningDatabase();
  }

  // The distinct tunable ops of the training step.
  mlir::MLIRContext context;
  auto module = buildTrainingModule(context, *config, batch, L,
                                    OptimizerOptions(), false);
  if (!module)
    return module.takeError();
  std::vector<TunedOp> ops;
  llvm::StringMap<size_t> bySignature;
  std::string compiler = mm::tuningCompilerVersion();
  std::string target = mm::hostTargetKey();
  (*module)->walk([&](mm::TunableOpInterface op) {
    rt::TuningKey key{compiler, target, mm::tileOpSignature(op),
                      op.getTileSpaceVersion()};
    auto [it, inserted] = bySignature.try_emplace(key.op, ops.size());
    if (inserted)
      ops.push_back({op, key, 0});
    ++ops[it->second].count;
  });

  CpuCompileOptions options;
  options.cacheDir = cacheDir;
  options.useTuningDatabase = false;
  Tuner tuner(options, repeats);
  llvm::outs() << "tuning " << ops.size() << " distinct ops of the training "
               << "step (batch " << batch << ", L " << L << "), database "
               << database << "\n";
  size_t hits = 0;
  double remaining = budget;
  std::vector<std::string> table;
  for (size_t i = 0; i < ops.size(); ++i) {
    const TunedOp &op = ops[i];
    llvm::outs() << "[" << i + 1 << "/" << ops.size() << "] "
                 << op.op->getName() << " x" << op.count << "\n";
    const rt::TuningEntry *entry = tuned.find(op.key);
    rt::TuningEntry fresh;
    if (entry && tuning == "cached") {
      ++hits;
      llvm::outs() << "  cached\n";
    } else {
      double share = remaining / static_cast<double>(ops.size() - i);
      auto start = Clock::now();
      auto result = tuner.tune(op, share);
      if (!result)
        return result.takeError();
      remaining -= std::chrono::duration<double>(Clock::now() - start).count();
      tuned.put(*result);
      // Saved after every op: an interrupted run keeps what it measured.
      rt::Status saved = rt::writeTuningDatabase(database, tuned);
      if (!saved.ok())
        return llvm::createStringError(saved.message());
      entry = tuned.find(op.key);
    }
    table.push_back(llvm::formatv(
        "{0,-30} x{1,-3} {2,12:F1} {3,12:F1} {4,8:F2}x  {5}",
        op.op->getName().getStringRef(), op.count, entry->defaultTimeNs * 1e-3,
        entry->timeNs * 1e-3,
        entry->timeNs > 0 ? double(entry->defaultTimeNs) / entry->timeNs : 1.0,
        describe(entry->sizes)));
  }
  llvm::outs() << "\nop                             count   default_us     "
                  "tuned_us  speedup  "
                  "sizes\n";
  for (const std::string &line : table)
    llvm::outs() << line << "\n";
  if (hits == ops.size())
    llvm::outs() << "all " << hits << " ops were in the database\n";

  if (endToEnd) {
    CpuCompileOptions withDefaults = options;
    CpuCompileOptions withTuning = options;
    withTuning.useTuningDatabase = true;
    withTuning.tuningDatabase = database;
    auto base = timeTrainStep(*config, L, withDefaults);
    if (!base)
      return base.takeError();
    auto tunedStep = timeTrainStep(*config, L, withTuning);
    if (!tunedStep)
      return tunedStep.takeError();
    llvm::outs() << llvm::format(
        "training step: default configs %.2f ms, tuned %.2f ms, %.2fx\n",
        *base * 1e3, *tunedStep * 1e3, *base / *tunedStep);
  }
  return llvm::Error::success();
}
