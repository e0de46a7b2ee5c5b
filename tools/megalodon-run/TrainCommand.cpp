//===- TrainCommand.cpp - megalodon-run train -----------------------------===//
//
// Trains a model with the compiled @train_step: batches of consecutive
// windows of a token file, AdamW with clipping and a learning-rate schedule,
// one progress line per step, a metrics JSONL file, periodic validation and
// crash-safe checkpoints. `--resume` continues a run exactly: the
// checkpoint holds the parameters, the moments, the step and the data
// position, and the settings saved with it apply unless a flag overrides
// them.
//
// Under mpirun, `--dp N --cp M` trains with N * M processes (see
// DistributedTrainer): every process reads the same data and the same
// checkpoint, rank 0 alone prints, records metrics and writes checkpoints,
// and a failure on any process ends the whole job.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "megalodon/Driver/DistributedTrainer.h"
#include "megalodon/Driver/LrSchedule.h"
#include "megalodon/Driver/Trainer.h"
#include "megalodon/Driver/TrainingData.h"
#include "megalodon/Model/Parameters.h"
#include "megalodon/runtime/Checkpoint.h"
#include "megalodon/runtime/Communicator.h"
#include "megalodon/runtime/TokenFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

using namespace megalodon;
namespace cl = llvm::cl;

cl::SubCommand tool::trainCommand("train",
                                  "Train a model with compiled training steps");

static cl::OptionCategory trainCategory("train options");
#define TRAIN_OPT cl::sub(tool::trainCommand), cl::cat(trainCategory)

static cl::opt<std::string> configPath("config",
                                       cl::desc("Model config (JSON)"),
                                       cl::value_desc("file"), TRAIN_OPT);
static cl::opt<std::string>
    initFrom("init-from",
             cl::desc("Start from these weights (default: seeded init)"),
             cl::value_desc("file"), TRAIN_OPT);
static cl::opt<std::string>
    dataPath("data", cl::desc("Tokens: .bin = little-endian int32, else bytes"),
             cl::value_desc("file"), TRAIN_OPT);
static cl::opt<std::string> outDir("out",
                                   cl::desc("Output directory: checkpoints "
                                            "and metrics.jsonl"),
                                   cl::value_desc("dir"), TRAIN_OPT);
static cl::opt<std::string>
    resume("resume",
           cl::desc("Continue from a checkpoint (a checkpoint directory or "
                    "an output directory's latest one)"),
           cl::value_desc("dir"), TRAIN_OPT);
static cl::opt<int64_t> steps("steps",
                              cl::desc("Total steps (also the schedule's "
                                       "length)"),
                              cl::init(1000), TRAIN_OPT);
static cl::opt<int64_t>
    stopAt("stop-at",
           cl::desc("Stop after this step, with a checkpoint, as if killed "
                    "(0: run to --steps)"),
           cl::init(0), TRAIN_OPT);
static cl::opt<int64_t> batch("batch", cl::desc("Windows per step"),
                              cl::init(8), TRAIN_OPT);
static cl::opt<int64_t> seqLen("seq-len",
                               cl::desc("Window length L (default chunk_size)"),
                               cl::init(0), TRAIN_OPT);
static cl::opt<double> lr("lr", cl::desc("Peak learning rate"), cl::init(1e-3),
                          TRAIN_OPT);
static cl::opt<int64_t> warmup("warmup", cl::desc("Warmup steps"),
                               cl::init(2000), TRAIN_OPT);
static cl::opt<std::string>
    schedule("schedule", cl::desc("linear, cosine or constant (after warmup)"),
             cl::init("linear"), TRAIN_OPT);
static cl::opt<double> weightDecay("weight-decay",
                                   cl::desc("Decoupled weight decay"),
                                   cl::init(0.1), TRAIN_OPT);
static cl::opt<double> clip("clip",
                            cl::desc("Global gradient-norm limit (0: none)"),
                            cl::init(1.0), TRAIN_OPT);
static cl::opt<double> beta1("beta1", cl::init(0.9), cl::desc("AdamW beta1"),
                             TRAIN_OPT);
static cl::opt<double> beta2("beta2", cl::init(0.98), cl::desc("AdamW beta2"),
                             TRAIN_OPT);
static cl::opt<double> eps("eps", cl::init(1e-8), cl::desc("AdamW epsilon"),
                           TRAIN_OPT);
static cl::opt<uint64_t> seed("seed",
                              cl::desc("Seed of the initialization and of "
                                       "the shuffling"),
                              cl::init(0), TRAIN_OPT);
static cl::opt<bool> shuffle("shuffle",
                             cl::desc("Visit windows in a seeded random "
                                      "order per epoch"),
                             TRAIN_OPT);
static cl::opt<double>
    valFraction("val-fraction",
                cl::desc("Held-out tail of the data for validation (0: none)"),
                cl::init(0.05), TRAIN_OPT);
static cl::opt<int64_t> evalEvery("eval-every",
                                  cl::desc("Validate every N steps (0: only "
                                           "at the start and the end)"),
                                  cl::init(100), TRAIN_OPT);
static cl::opt<int64_t>
    valBatches("val-batches",
               cl::desc("Validation batches per evaluation (0: all)"),
               cl::init(0), TRAIN_OPT);
static cl::opt<int64_t> saveEvery("save-every",
                                  cl::desc("Checkpoint every N steps (0: only "
                                           "at the end)"),
                                  cl::init(0), TRAIN_OPT);
static cl::opt<int64_t>
    threads("threads",
            cl::desc("Threads of the compiled code (default: all cores); "
                     "results are reproducible for a fixed count"),
            cl::init(0), TRAIN_OPT);
static cl::opt<bool> quiet("quiet", cl::desc("No per-step progress lines"),
                           TRAIN_OPT);
static cl::opt<std::string>
    tuning("tuning",
           cl::desc("Tile configs: cached (the tuning database's where it "
                    "has them, else defaults) or off (defaults only)"),
           cl::init("cached"), TRAIN_OPT);
static cl::opt<int> dataParallel(
    "dp",
    cl::desc("Data-parallel replicas (default: the processes not used by "
             "--cp); the global --batch is split over them"),
    cl::init(0), TRAIN_OPT);
static cl::opt<int> chunkParallel(
    "cp",
    cl::desc("Chunk-parallel parts of every sequence (each a multiple of "
             "chunk_size), which pass their state along"),
    cl::init(1), TRAIN_OPT);
static cl::opt<double> commTimeout(
    "comm-timeout",
    cl::desc("Seconds a process waits for the others before it aborts the "
             "job (multi-process runs)"),
    cl::init(600.0), TRAIN_OPT);
static cl::opt<std::string>
    cacheDir("cache-dir",
             cl::desc("Artifact cache (default: $MEGALODON_CACHE_DIR or "
                      "~/.cache/megalodon)"),
             TRAIN_OPT);

namespace {

/// The settings a checkpoint records and a resumed run reuses.
struct Settings {
  int64_t steps, batch, seqLen, warmup;
  double lr, weightDecay, clip, beta1, beta2, eps, valFraction;
  std::string schedule;
  uint64_t seed;
  bool shuffle;
};

Settings settingsFromFlags() {
  Settings s;
  s.steps = steps;
  s.batch = batch;
  s.seqLen = seqLen;
  s.warmup = warmup;
  s.lr = lr;
  s.weightDecay = weightDecay;
  s.clip = clip;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.valFraction = valFraction;
  s.schedule = schedule;
  s.seed = seed;
  s.shuffle = shuffle;
  return s;
}

llvm::json::Object settingsToJson(const Settings &s) {
  return llvm::json::Object{{"steps", s.steps},
                            {"batch", s.batch},
                            {"seq_len", s.seqLen},
                            {"warmup", s.warmup},
                            {"lr", s.lr},
                            {"weight_decay", s.weightDecay},
                            {"clip", s.clip},
                            {"beta1", s.beta1},
                            {"beta2", s.beta2},
                            {"eps", s.eps},
                            {"val_fraction", s.valFraction},
                            {"schedule", s.schedule},
                            {"seed", static_cast<int64_t>(s.seed)},
                            {"shuffle", s.shuffle}};
}

/// Reads the saved settings, except those given on this command line.
llvm::Error mergeSavedSettings(const llvm::json::Object &saved, Settings &s) {
  auto num = [&](const char *key, auto &field, const cl::Option &flag) {
    if (flag.getNumOccurrences())
      return true;
    if (auto v = saved.getNumber(key)) {
      using T = std::remove_reference_t<decltype(field)>;
      field = static_cast<T>(*v);
      return true;
    }
    return false;
  };
  bool ok = num("steps", s.steps, steps) && num("batch", s.batch, batch) &&
            num("seq_len", s.seqLen, seqLen) &&
            num("warmup", s.warmup, warmup) && num("lr", s.lr, lr) &&
            num("weight_decay", s.weightDecay, weightDecay) &&
            num("clip", s.clip, clip) && num("beta1", s.beta1, beta1) &&
            num("beta2", s.beta2, beta2) && num("eps", s.eps, eps) &&
            num("val_fraction", s.valFraction, valFraction);
  if (auto v = saved.getInteger("seed"); v && !seed.getNumOccurrences())
    s.seed = static_cast<uint64_t>(*v);
  if (auto v = saved.getString("schedule"); v && !schedule.getNumOccurrences())
    s.schedule = v->str();
  if (auto v = saved.getBoolean("shuffle"); v && !shuffle.getNumOccurrences())
    s.shuffle = *v;
  if (!ok)
    return llvm::createStringError("the checkpoint's trainer.json lacks a "
                                   "setting");
  return llvm::Error::success();
}

std::string formatDuration(double seconds) {
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld",
                static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return text;
}

} // namespace

namespace {
llvm::Error train(rt::Communicator *comm);
} // namespace

llvm::Error tool::runTrain() {
  if (chunkParallel < 1 || dataParallel < 0)
    return llvm::createStringError("--cp must be positive and --dp "
                                   "non-negative");
  bool distributed = rt::launchedByMpi() || dataParallel > 1 ||
                     chunkParallel > 1;
  if (!distributed) {
    if (threads > 0)
      setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
    return train(nullptr);
  }
  std::unique_ptr<rt::Communicator> comm;
  rt::Status status =
      rt::createMpiCommunicator(nullptr, nullptr, commTimeout, comm);
  if (!status.ok())
    return llvm::createStringError(status.message());
  int world = comm->size();
  int dp = dataParallel > 0 ? dataParallel.getValue()
                            : std::max(1, world / chunkParallel);
  if (dp * chunkParallel != world)
    return llvm::createStringError(
        "--dp " + std::to_string(dp) + " --cp " +
        std::to_string(chunkParallel) + " needs " +
        std::to_string(dp * chunkParallel) + " processes, but " +
        std::to_string(world) + (world == 1 ? " was" : " were") +
        " started (run under mpirun -np " +
        std::to_string(dp * chunkParallel) + ")");
  dataParallel = dp;
  // The cores of this machine are shared by the processes on it.
  int threadCount = threads;
  if (threadCount <= 0) {
    int local = 1;
    if (const char *n = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE"))
      local = std::max(1, std::atoi(n));
    threadCount = std::max(
        1, static_cast<int>(std::thread::hardware_concurrency()) / local);
  }
  setenv("OMP_NUM_THREADS", std::to_string(threadCount).c_str(), 1);
  llvm::Error err = train(world > 1 ? comm.get() : nullptr);
  if (err && world > 1)
    comm->abort("error: " + llvm::toString(std::move(err)));
  return err;
}

namespace {
llvm::Error train(rt::Communicator *comm) {
  bool leader = !comm || comm->rank() == 0;
  if (llvm::Error err = tool::requireFlags({{&dataPath, "data"}, {&outDir, "out"}}))
    return err;
  if (tuning != "cached" && tuning != "off")
    return llvm::createStringError("--tuning must be cached or off, got '" +
                                   tuning + "'");

  // Model, weights and state: from a checkpoint or from scratch.
  Settings settings = settingsFromFlags();
  ModelConfig config;
  TrainState state;
  int64_t position = 0;
  if (!resume.empty()) {
    rt::Checkpoint checkpoint;
    std::string resolved;
    rt::Status status = rt::loadCheckpoint(resume, checkpoint, &resolved);
    if (!status.ok())
      return llvm::createStringError(status.message());
    auto cfg = parseModelConfig(checkpoint.configJson);
    if (!cfg)
      return cfg.takeError();
    config = *cfg;
    rt::Status checked = checkParameters(config, checkpoint.model);
    if (!checked.ok())
      return llvm::createStringError(resolved + ": " + checked.message());
    auto trainer = llvm::json::parse(checkpoint.trainerJson);
    if (!trainer)
      return trainer.takeError();
    const llvm::json::Object *object = trainer->getAsObject();
    const llvm::json::Object *saved =
        object ? object->getObject("settings") : nullptr;
    auto step = object ? object->getInteger("step") : std::nullopt;
    auto pos = object ? object->getInteger("data_position") : std::nullopt;
    if (!saved || !step || !pos)
      return llvm::createStringError(resolved +
                                     "/trainer.json: missing step, "
                                     "data_position or settings");
    if (llvm::Error err = mergeSavedSettings(*saved, settings))
      return err;
    state = TrainState::fresh(config, checkpoint.model);
    for (auto &[name, moment] : state.moments) {
      auto it = checkpoint.optimizer.find(name);
      if (it == checkpoint.optimizer.end() || it->second.shape != moment.shape ||
          it->second.dtype != rt::DType::F32)
        return llvm::createStringError(resolved +
                                       "/optimizer.safetensors: missing or "
                                       "mismatched '" + name + "'");
      moment = it->second;
    }
    state.step = *step;
    position = *pos;
    if (leader)
      llvm::outs() << "resuming from " << resolved << " at step "
                   << state.step << "\n";
  } else {
    if (llvm::Error err = tool::requireFlags({{&configPath, "config"}}))
      return err;
    auto cfg = loadModelConfig(configPath);
    if (!cfg)
      return cfg.takeError();
    config = *cfg;
    rt::TensorMap weights;
    if (!initFrom.empty()) {
      auto loaded = tool::loadWeights(config, initFrom);
      if (!loaded)
        return loaded.takeError();
      weights = std::move(*loaded);
    } else {
      weights = initializeParameters(config, settings.seed);
    }
    state = TrainState::fresh(config, weights);
  }
  if (settings.seqLen <= 0)
    settings.seqLen = config.chunk_size;
  auto kind = parseLrSchedule(settings.schedule);
  if (!kind)
    return llvm::createStringError("--schedule must be linear, cosine or "
                                   "constant, got '" + settings.schedule + "'");
  LrSchedule lrSchedule;
  lrSchedule.kind = *kind;
  lrSchedule.warmup = settings.warmup;
  lrSchedule.total = settings.steps;

  // Data.
  rt::TokenStream stream;
  rt::Status read = rt::readTokenFile(dataPath, stream);
  if (!read.ok())
    return llvm::createStringError(read.message());
  rt::Status range = rt::checkTokenRange(stream.tokens, config.vocab_size,
                                         dataPath);
  if (!range.ok())
    return llvm::createStringError(range.message());
  auto data = TrainingData::create(std::move(stream.tokens), settings.seqLen,
                                   settings.batch, settings.valFraction,
                                   settings.shuffle, settings.seed);
  if (!data)
    return data.takeError();

  // The compiled step.
  OptimizerOptions optimizer;
  optimizer.beta1 = settings.beta1;
  optimizer.beta2 = settings.beta2;
  optimizer.eps = settings.eps;
  optimizer.weightDecay = settings.weightDecay;
  optimizer.maxGradNorm = settings.clip;
  CpuCompileOptions compile;
  compile.cacheDir = cacheDir;
  if (llvm::Error err = tool::selectBackend(compile))
    return err;
  compile.verbose = leader;
  compile.useTuningDatabase = tuning == "cached";
  // One process: the fused @train_step. Several: the gradients of each,
  // summed, then the same update everywhere.
  std::unique_ptr<CompiledTrainer> single;
  std::unique_ptr<DistributedTrainer> multi;
  if (comm) {
    auto created = DistributedTrainer::create(
        config, settings.batch, settings.seqLen,
        ParallelDegrees{dataParallel, chunkParallel}, optimizer, compile,
        *comm);
    if (!created)
      return created.takeError();
    multi = std::move(*created);
  } else {
    auto created = CompiledTrainer::create(config, settings.batch,
                                           settings.seqLen, optimizer, compile);
    if (!created)
      return created.takeError();
    single = std::move(*created);
  }
  auto trainStep = [&](const rt::HostTensor &inputs,
                       const rt::HostTensor &targets, double rate) {
    return multi ? multi->step(state, inputs, targets, rate)
                 : single->step(state, inputs, targets, rate);
  };
  auto batchLoss = [&](const rt::HostTensor &inputs,
                       const rt::HostTensor &targets) {
    return multi ? multi->loss(state, inputs, targets)
                 : single->loss(state, inputs, targets);
  };

  // Only the leader writes; the others' metrics stream is a null sink.
  if (leader)
    if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
      return llvm::createStringError(outDir + ": " + ec.message());
  std::error_code ec;
  llvm::raw_fd_ostream metrics(leader ? outDir + "/metrics.jsonl" : "/dev/null",
                               ec, llvm::sys::fs::OF_Append);
  if (ec)
    return llvm::createStringError(outDir + "/metrics.jsonl: " + ec.message());

  auto validate = [&]() -> llvm::Expected<double> {
    int64_t n = data->valBatches();
    if (valBatches > 0)
      n = std::min<int64_t>(n, valBatches);
    double total = 0.0;
    rt::HostTensor inputs, targets;
    for (int64_t i = 0; i < n; ++i) {
      data->valBatch(i, inputs, targets);
      auto loss = batchLoss(inputs, targets);
      if (!loss)
        return loss.takeError();
      total += *loss;
    }
    return total / static_cast<double>(n);
  };
  auto record = [&](llvm::json::Object fields) {
    metrics << llvm::json::Value(std::move(fields)) << "\n";
    metrics.flush();
  };
  auto reportValidation = [&]() -> llvm::Error {
    if (data->valBatches() == 0)
      return llvm::Error::success();
    auto loss = validate();
    if (!loss)
      return loss.takeError();
    if (leader) {
      llvm::outs() << llvm::format("step %lld  val_loss %.4f\n",
                                   static_cast<long long>(state.step), *loss);
      llvm::outs().flush();
    }
    record(llvm::json::Object{{"step", state.step}, {"val_loss", *loss}});
    return llvm::Error::success();
  };
  auto save = [&]() -> llvm::Error {
    // Every process must hold what rank 0 writes: the same step, parameters
    // and moments.
    if (multi)
      if (llvm::Error err = multi->checkReplicasAgree(state))
        return err;
    if (!leader)
      return llvm::Error::success();
    rt::Checkpoint checkpoint;
    checkpoint.configJson = modelConfigToJson(config);
    checkpoint.model = state.weights(config);
    checkpoint.optimizer = state.moments;
    llvm::json::Object trainerState{{"step", state.step},
                                    {"data_position", position},
                                    {"settings", settingsToJson(settings)}};
    llvm::raw_string_ostream(checkpoint.trainerJson)
        << llvm::json::Value(std::move(trainerState));
    rt::Status status = rt::saveCheckpoint(outDir, state.step, checkpoint);
    if (!status.ok())
      return llvm::createStringError(status.message());
    return llvm::Error::success();
  };

  if (leader) {
    llvm::outs() << "training " << countTrainableParameters(config)
                 << " parameters on " << data->trainWindows()
                 << " windows of " << settings.seqLen + 1 << " tokens ("
                 << data->valWindows() << " held out), batch "
                 << settings.batch << ", steps " << state.step << " -> "
                 << settings.steps << "\n";
    if (multi)
      llvm::outs() << "processes: " << comm->size() << " (data parallel "
                   << dataParallel << " x chunk parallel " << chunkParallel
                   << "), per process batch "
                   << settings.batch / dataParallel << " x "
                   << settings.seqLen / chunkParallel << " tokens\n";
  }
  if (llvm::Error err = reportValidation())
    return err;

  const int64_t last = stopAt > 0 ? std::min<int64_t>(stopAt, settings.steps)
                                  : settings.steps;
  const auto start = std::chrono::steady_clock::now();
  const int64_t firstStep = state.step;
  // Communication before the loop (waiting for rank 0's compilation) is not
  // the run's.
  const double commBefore = comm ? comm->stats().seconds : 0.0;
  constexpr int kMaxSkippedInARow = 10;
  int skippedInARow = 0;
  rt::HostTensor inputs, targets;
  while (state.step < last) {
    const double rate = settings.lr * lrSchedule.multiplier(state.step);
    data->trainBatch(position, inputs, targets);
    auto result = trainStep(inputs, targets, rate);
    if (!result)
      return result.takeError();
    position += settings.batch;

    const double elapsed = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    const double done = static_cast<double>(state.step - firstStep);
    const double tokensPerSecond =
        done * settings.batch * settings.seqLen / elapsed;
    const double eta = elapsed / done * static_cast<double>(last - state.step);
    if (!quiet && leader) {
      llvm::outs() << llvm::format(
          "step %lld/%lld  loss %.4f  lr %.3e  grad_norm %.3f  tok/s %.0f  "
          "eta %s\n",
          static_cast<long long>(state.step),
          static_cast<long long>(settings.steps), result->loss, rate,
          result->gradNorm, tokensPerSecond, formatDuration(eta).c_str());
      llvm::outs().flush();
    }
    record(llvm::json::Object{{"step", state.step},
                              {"loss", result->loss},
                              {"lr", rate},
                              {"grad_norm", result->gradNorm},
                              {"tokens_per_s", tokensPerSecond}});
    // The compiled update skips a step whose gradients are not finite; many
    // in a row mean the run has diverged.
    if (std::isfinite(result->gradNorm)) {
      skippedInARow = 0;
    } else {
      if (leader)
        llvm::errs() << "step " << state.step
                     << ": non-finite gradients, update skipped\n";
      if (++skippedInARow == kMaxSkippedInARow)
        return llvm::createStringError(
            std::to_string(kMaxSkippedInARow) +
            " steps in a row had non-finite gradients; stopping (the last "
            "checkpoint is left as it was)");
    }
    if (evalEvery > 0 && state.step % evalEvery == 0 && state.step < last)
      if (llvm::Error err = reportValidation())
        return err;
    if (saveEvery > 0 && state.step % saveEvery == 0 && state.step < last)
      if (llvm::Error err = save())
        return err;
  }
  if (llvm::Error err = reportValidation())
    return err;
  if (llvm::Error err = save())
    return err;
  if (!leader)
    return llvm::Error::success();
  if (multi && state.step > firstStep) {
    const rt::CommStats &stats = comm->stats();
    double elapsed = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    llvm::outs() << llvm::format(
        "communication per step and process: %lld bytes all-reduced, %lld "
        "bytes to neighbours; rank 0 waited %.1f%% of the run\n",
        static_cast<long long>(multi->allReduceBytesPerStep()),
        static_cast<long long>(multi->pointToPointBytesPerStep()),
        100.0 * (stats.seconds - commBefore) / elapsed);
  }
  llvm::outs() << "saved " << outDir << "/latest (step " << state.step
               << ")\n";
  return llvm::Error::success();
}
} // namespace
