//===- ModelBuilder.cpp - Config to megalodon IR --------------------------===//

#include "megalodon/Model/ModelBuilder.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/Model/Parameters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace mlir;
using namespace mlir::megalodon;
using ::megalodon::ModelConfig;

namespace {

/// Emits the ops of one model into a function body. Parameter values are
/// looked up by state_dict name; decoding state is threaded through `State`.
class ModelEmitter {
public:
  ModelEmitter(OpBuilder &b, Location loc, const ModelConfig &cfg, Type elem,
               int64_t batch, int64_t len)
      : b(b), loc(loc), cfg(cfg), elem(elem), B(batch), L(len) {}

  /// Values of the parameters, by name.
  llvm::StringMap<Value> params;

  /// Carried state for decoding and segments; null members mean "fresh"
  /// (no state), an empty `layerIn` a fresh model.
  struct TsnState {
    Value count, mean, var;
  };
  struct LayerState {
    TsnState tsn;
    Value hx, kCache, vCache;
  };
  /// When set, the model runs in decoding mode (RoPE positions and the key
  /// and value caches continue from it).
  Value cacheLen;
  std::vector<LayerState> layerIn, layerOut;
  TsnState headIn, headOut;
  Value cacheLenOut;

  /// tokens [B,L] -> logits [B,L,V].
  Value logits(Value tokens) {
    int64_t D = cfg.model_dim;
    auto act = tensor({B, L, D});
    FloatAttr scaleAttr;
    if (cfg.scale_emb)
      scaleAttr = b.getF64FloatAttr(std::sqrt(static_cast<double>(D)));
    Value x = EmbeddingOp::create(b, loc, act, param("embed.weight"), tokens,
                                  scaleAttr);
    // Streaming functions and segments carry state in; the others start
    // fresh.
    bool carried = !layerIn.empty();
    for (int64_t l = 0; l < cfg.num_layers; ++l) {
      LayerState in = carried ? layerIn[l] : LayerState{};
      LayerState out;
      x = layer(x, "layers." + std::to_string(l) + ".", in, out);
      layerOut.push_back(out);
    }
    auto tsn = timestepNorm(x, "output.final_norm.", headIn);
    headOut = tsn.second;
    std::string outName =
        cfg.share_emb ? "embed.weight" : "output.output.weight";
    return LinearOp::create(b, loc, tensor({B, L, cfg.outputSize()}), tsn.first,
                            param(outName), Value());
  }

private:
  OpBuilder &b;
  Location loc;
  const ModelConfig &cfg;
  Type elem;
  int64_t B, L;

  RankedTensorType tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, elem);
  }

  Value param(const std::string &name) {
    auto it = params.find(name);
    return it == params.end() ? Value() : it->second;
  }

  std::pair<Value, TsnState> timestepNorm(Value x, const std::string &prefix,
                                          const TsnState &in) {
    int64_t G = cfg.norm_num_groups;
    Type f32 = b.getF32Type(), i64 = b.getI64Type();
    SmallVector<Type> types = {x.getType(), RankedTensorType::get({B}, i64),
                               RankedTensorType::get({B, G}, f32),
                               RankedTensorType::get({B, G}, f32)};
    auto op = TimestepNormOp::create(b, loc, types, x, param(prefix + "weight"),
                                     param(prefix + "bias"), in.count, in.mean,
                                     in.var, b.getI64IntegerAttr(G),
                                     b.getF64FloatAttr(cfg.norm_eps));
    return {op.getY(),
            TsnState{op.getCountOut(), op.getMeanOut(), op.getVarOut()}};
  }

  Value linear(Value x, const std::string &prefix, int64_t outDim,
               bool bias = true) {
    auto xType = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> shape(xType.getShape().drop_back());
    shape.push_back(outDim);
    return LinearOp::create(b, loc, tensor(shape), x, param(prefix + "weight"),
                            bias ? param(prefix + "bias") : Value());
  }

  Value silu(Value x) { return SiluOp::create(b, loc, x); }

  /// One Megalodon block: MEGA (attention half) then the normalized FFN,
  /// both residuals onto the block input (MODEL.md section 3).
  Value layer(Value x, const std::string &p, const LayerState &in,
              LayerState &out) {
    int64_t D = cfg.model_dim, Z = cfg.z_dim, E = cfg.value_dim;
    int64_t H = cfg.num_heads, N = cfg.cema_ndim, C = cfg.chunk_size;
    std::string m = p + "mega.";
    auto tsn = timestepNorm(x, m + "timenorm.", in.tsn);
    Value xn = tsn.first;
    out.tsn = tsn.second;

    auto cema = CemaOp::create(
        b, loc,
        TypeRange{
            x.getType(),
            RankedTensorType::get({B, D, N}, ComplexType::get(b.getF32Type()))},
        xn, param(m + "cema.alpha"), param(m + "cema.delta"),
        param(m + "cema.theta"), param(m + "cema.gamma"),
        param(m + "cema.omega"), in.hx);
    out.hx = cema.getHLast();

    FloatAttr eps = b.getF64FloatAttr(cfg.norm_eps);
    Value mx = RMSNormOp::create(b, loc, x.getType(), cema.getY(),
                                 param(m + "rmsnorm.weight"),
                                 b.getI64IntegerAttr(1), eps);
    Value z = linear(mx, m + "wz.", Z);
    z = RMSNormOp::create(b, loc, z.getType(), z, Value(),
                          b.getI64IntegerAttr(H), eps);
    auto qk = SharedQKOp::create(b, loc, z.getType(), z.getType(), z,
                                 param(m + "gamma"), param(m + "beta"),
                                 b.getI64IntegerAttr(H));
    Value v = silu(linear(xn, m + "wv.", E));
    Value r = silu(linear(mx, m + "wr.", E));

    auto rotary = [&](Value t) -> Value {
      return RotaryOp::create(
          b, loc, t.getType(), t, cacheLen, b.getI64IntegerAttr(H),
          b.getF64FloatAttr(cfg.rope_base), b.getI64IntegerAttr(C));
    };
    Value q = rotary(qk.getQ()), k = rotary(qk.getK());
    Value a = ChunkAttentionOp::create(
        b, loc, v.getType(), q, k, v, in.kCache, in.vCache,
        in.kCache ? cacheLen : Value(), b.getI64IntegerAttr(H),
        b.getI64IntegerAttr(C));
    if (in.kCache) {
      auto update = KVCacheUpdateOp::create(
          b, loc,
          TypeRange{in.kCache.getType(), in.vCache.getType(),
                    cacheLen.getType()},
          in.kCache, in.vCache, cacheLen, k, v, b.getI64IntegerAttr(C));
      out.kCache = update.getKCacheOut();
      out.vCache = update.getVCacheOut();
      cacheLenOut = update.getCacheLenOut();
    }
    Value gated = MulOp::create(b, loc, a, r);
    Value h = AddOp::create(b, loc, linear(mx, m + "wh1.", D),
                            linear(gated, m + "wh2.", D, /*bias=*/false));
    Value y = AddOp::create(b, loc, x, h);

    std::string f = p + "nffn.";
    Value t =
        LayerNormOp::create(b, loc, y.getType(), y, param(f + "norm.weight"),
                            param(f + "norm.bias"), eps);
    int64_t F = cfg.ffn_hidden_dim;
    Value u = linear(t, f + "fc1.", F, /*bias=*/false);
    if (cfg.swiglu)
      u = SwigluOp::create(b, loc, u, linear(t, f + "fc3.", F, false));
    else
      u = silu(u);
    Value o = linear(u, f + "fc2.", D, /*bias=*/false);
    if (cfg.rescale_nffn)
      o = ScaleChannelsOp::create(b, loc, o.getType(), o, param(f + "alpha"));
    // The second residual goes to the block input x, not to y.
    return AddOp::create(b, loc, x, o);
  }
};

/// Adds the trainable parameters as trailing arguments of `func`, named,
/// in `storage` (f32 or bf16); bf16 ones are widened to `elem` at the start
/// of the body, before anything the emitter adds.
void addParameterArguments(func::FuncOp func, const ModelConfig &cfg, Type elem,
                           Type storage, ModelEmitter &emitter) {
  OpBuilder b(func.getContext());
  Block &body = func.getBody().front();
  OpBuilder atStart = OpBuilder::atBlockBegin(&body);
  for (const ::megalodon::ParamSpec &spec : ::megalodon::parameterSpecs(cfg)) {
    if (!spec.trainable || !spec.aliasOf.empty())
      continue;
    auto type = RankedTensorType::get(spec.shape, storage);
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(
            index, type,
            b.getDictionaryAttr(b.getNamedAttr(::megalodon::kParamAttr,
                                               b.getStringAttr(spec.name))),
            func.getLoc())))
      continue;
    Value param = body.getArgument(index);
    if (storage != elem)
      param =
          arith::ExtFOp::create(atStart, func.getLoc(),
                                RankedTensorType::get(spec.shape, elem), param);
    emitter.params[spec.name] = param;
  }
}

DictionaryAttr named(OpBuilder &b, const char *attr, StringRef name) {
  return b.getDictionaryAttr(b.getNamedAttr(attr, b.getStringAttr(name)));
}

func::FuncOp createFunc(OpBuilder &b, ModuleOp module, StringRef name,
                        ArrayRef<Type> inputs, ArrayRef<DictionaryAttr> attrs) {
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, module.getLoc(), name,
                                   b.getFunctionType(inputs, {}));
  func.setAllArgAttrs(attrs);
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  return func;
}

/// Sets the function type from the returned values and adds result names.
void finishFunc(OpBuilder &b, func::FuncOp func, ArrayRef<Value> results,
                ArrayRef<DictionaryAttr> resultAttrs) {
  func::ReturnOp::create(b, func.getLoc(), results);
  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  func.setType(b.getFunctionType(func.getArgumentTypes(), types));
  func.setAllResultAttrs(resultAttrs);
}

} // namespace

namespace {
/// The element type of a carried-state tensor.
Type stateElementType(OpBuilder &b, const ::megalodon::StateSpec &spec) {
  if (spec.elementType == "i64")
    return b.getI64Type();
  if (spec.elementType == "f32")
    return b.getF32Type();
  return ComplexType::get(b.getF32Type());
}

/// Emits a function that continues a stream: `len` new tokens plus the
/// carried state (decodeStateSpecs order) in, logits plus the new state out.
/// @decode_step and @prefill differ only in `len`.
void emitStreamingFunc(OpBuilder &b, ModuleOp module, const ModelConfig &cfg,
                       Type elem, Type storage, int64_t B, int64_t len,
                       StringRef name) {
  std::vector<::megalodon::StateSpec> states =
      ::megalodon::decodeStateSpecs(cfg, B);
  SmallVector<Type> inputs = {RankedTensorType::get({B, len}, b.getI32Type())};
  SmallVector<DictionaryAttr> attrs = {
      named(b, ::megalodon::kInputAttr, "tokens")};
  for (const ::megalodon::StateSpec &s : states) {
    inputs.push_back(RankedTensorType::get(s.shape, stateElementType(b, s)));
    attrs.push_back(named(b, ::megalodon::kStateAttr, s.name));
  }
  func::FuncOp f = createFunc(b, module, name, inputs, attrs);
  ModelEmitter emitter(b, module.getLoc(), cfg, elem, B, len);
  unsigned arg = 1;
  emitter.cacheLen = f.getArgument(arg++);
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    ModelEmitter::LayerState s;
    s.tsn = {f.getArgument(arg), f.getArgument(arg + 1),
             f.getArgument(arg + 2)};
    s.hx = f.getArgument(arg + 3);
    s.kCache = f.getArgument(arg + 4);
    s.vCache = f.getArgument(arg + 5);
    arg += 6;
    emitter.layerIn.push_back(s);
  }
  emitter.headIn = {f.getArgument(arg), f.getArgument(arg + 1),
                    f.getArgument(arg + 2)};
  addParameterArguments(f, cfg, elem, storage, emitter);
  Value logits = emitter.logits(f.getArgument(0));

  SmallVector<Value> results = {logits, emitter.cacheLenOut};
  for (const ModelEmitter::LayerState &s : emitter.layerOut)
    results.append(
        {s.tsn.count, s.tsn.mean, s.tsn.var, s.hx, s.kCache, s.vCache});
  results.append(
      {emitter.headOut.count, emitter.headOut.mean, emitter.headOut.var});
  SmallVector<DictionaryAttr> resultAttrs = {
      named(b, ::megalodon::kInputAttr, "logits")};
  for (const ::megalodon::StateSpec &s : states)
    resultAttrs.push_back(named(b, ::megalodon::kStateAttr, s.name));
  finishFunc(b, f, results, resultAttrs);
}

/// Emits @segment_loss: the mean cross-entropy of one segment of a longer
/// sequence, which starts from the state the previous segment ended with
/// (segmentStateSpecs order) and returns its own final state after the loss.
/// Chunk-parallel training chains these across processes; differentiating
/// it (megalodon-autodiff) gives the gradients of the incoming state too.
void emitSegmentLossFunc(OpBuilder &b, ModuleOp module, const ModelConfig &cfg,
                         Type elem, Type storage, int64_t B, int64_t len) {
  std::vector<::megalodon::StateSpec> states =
      ::megalodon::segmentStateSpecs(cfg, B);
  auto tokens = RankedTensorType::get({B, len}, b.getI32Type());
  SmallVector<Type> inputs = {tokens, tokens};
  SmallVector<DictionaryAttr> attrs = {
      named(b, ::megalodon::kInputAttr, "tokens"),
      named(b, ::megalodon::kInputAttr, "targets")};
  for (const ::megalodon::StateSpec &s : states) {
    inputs.push_back(RankedTensorType::get(s.shape, stateElementType(b, s)));
    attrs.push_back(named(b, ::megalodon::kStateAttr, s.name));
  }
  func::FuncOp f = createFunc(b, module, "segment_loss", inputs, attrs);
  ModelEmitter emitter(b, module.getLoc(), cfg, elem, B, len);
  unsigned arg = 2;
  for (int64_t l = 0; l < cfg.num_layers; ++l, arg += 4) {
    ModelEmitter::LayerState s;
    s.tsn = {f.getArgument(arg), f.getArgument(arg + 1),
             f.getArgument(arg + 2)};
    s.hx = f.getArgument(arg + 3);
    emitter.layerIn.push_back(s);
  }
  emitter.headIn = {f.getArgument(arg), f.getArgument(arg + 1),
                    f.getArgument(arg + 2)};
  addParameterArguments(f, cfg, elem, storage, emitter);
  Value logits = emitter.logits(f.getArgument(0));
  Value loss = CrossEntropyOp::create(b, module.getLoc(),
                                      RankedTensorType::get({}, b.getF32Type()),
                                      logits, f.getArgument(1));

  SmallVector<Value> results = {loss};
  for (const ModelEmitter::LayerState &s : emitter.layerOut)
    results.append({s.tsn.count, s.tsn.mean, s.tsn.var, s.hx});
  results.append(
      {emitter.headOut.count, emitter.headOut.mean, emitter.headOut.var});
  SmallVector<DictionaryAttr> resultAttrs = {
      named(b, ::megalodon::kInputAttr, "loss")};
  for (const ::megalodon::StateSpec &s : states)
    resultAttrs.push_back(named(b, ::megalodon::kStateAttr, s.name));
  finishFunc(b, f, results, resultAttrs);
}

/// Emits `name`(logits [B,len,V], targets [B,len]) -> mean cross-entropy, so
/// that losses of streamed pieces are computed by compiled code too.
void emitNllFunc(OpBuilder &b, ModuleOp module, const ModelConfig &cfg,
                 int64_t B, int64_t len, StringRef name) {
  auto logits =
      RankedTensorType::get({B, len, cfg.outputSize()}, b.getF32Type());
  auto targets = RankedTensorType::get({B, len}, b.getI32Type());
  func::FuncOp f = createFunc(b, module, name, {logits, targets},
                              {named(b, ::megalodon::kInputAttr, "logits"),
                               named(b, ::megalodon::kInputAttr, "targets")});
  Value loss = CrossEntropyOp::create(
      b, module.getLoc(), RankedTensorType::get({}, b.getF32Type()),
      f.getArgument(0), f.getArgument(1));
  finishFunc(b, f, {loss}, {named(b, ::megalodon::kInputAttr, "loss")});
}

} // namespace

namespace megalodon {

void loadModelDialects(MLIRContext &context) {
  context
      .loadDialect<MegalodonDialect, func::FuncDialect, arith::ArithDialect>();
}

llvm::Expected<OwningOpRef<ModuleOp>>
buildModelModule(MLIRContext &context, const ModelConfig &cfg,
                 const BuildOptions &options) {
  if (llvm::Error err = validateModelConfig(cfg))
    return std::move(err);
  int64_t B = options.batch;
  int64_t L = options.seqLen > 0 ? options.seqLen : cfg.chunk_size;
  int64_t Ld = options.decodeLen, C = cfg.chunk_size;
  int64_t Lp = options.prefillLen > 0 ? options.prefillLen : C;
  if (B <= 0)
    return llvm::createStringError("batch must be positive, got %lld",
                                   static_cast<long long>(B));
  if (!(L <= C || L % C == 0))
    return llvm::createStringError(
        "sequence length %lld is neither <= chunk_size %lld nor a multiple "
        "of it",
        static_cast<long long>(L), static_cast<long long>(C));
  for (auto [emit, len, what] :
       {std::tuple(options.emitDecode, Ld, "decode"),
        std::tuple(options.emitPrefill, Lp, "prefill")})
    if (emit && !(len > 0 && (len <= C || len % C == 0)))
      return llvm::createStringError(
          "%s length %lld is neither in [1, chunk_size %lld] nor a multiple "
          "of it",
          what, static_cast<long long>(len), static_cast<long long>(C));

  loadModelDialects(context);
  OpBuilder b(&context);
  Location loc = NameLoc::get(b.getStringAttr("megalodon.model"));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  // The config travels with the IR (compact JSON) so artifacts are
  // self-describing.
  std::string compact;
  if (llvm::Expected<llvm::json::Value> json =
          llvm::json::parse(modelConfigToJson(cfg)))
    llvm::raw_string_ostream(compact) << *json;
  else
    return json.takeError();
  (*module)->setAttr(kConfigAttr, b.getStringAttr(compact));
  // Activations are f32; parameters f32 or, stored as bf16, widened to f32.
  Type elem = b.getF32Type();
  Type storage = options.bf16Parameters ? b.getBF16Type() : elem;
  auto tokensType = [&](int64_t len) {
    return RankedTensorType::get({B, len}, b.getI32Type());
  };

  if (options.emitForward) {
    func::FuncOp f = createFunc(b, *module, "forward", {tokensType(L)},
                                {named(b, kInputAttr, "tokens")});
    ModelEmitter emitter(b, loc, cfg, elem, B, L);
    addParameterArguments(f, cfg, elem, storage, emitter);
    Value logits = emitter.logits(f.getArgument(0));
    finishFunc(b, f, {logits}, {named(b, kInputAttr, "logits")});
  }

  if (options.emitLoss) {
    func::FuncOp f = createFunc(
        b, *module, "loss", {tokensType(L), tokensType(L)},
        {named(b, kInputAttr, "tokens"), named(b, kInputAttr, "targets")});
    ModelEmitter emitter(b, loc, cfg, elem, B, L);
    addParameterArguments(f, cfg, elem, storage, emitter);
    Value logits = emitter.logits(f.getArgument(0));
    Value loss = CrossEntropyOp::create(
        b, loc, RankedTensorType::get({}, b.getF32Type()), logits,
        f.getArgument(1));
    finishFunc(b, f, {loss}, {named(b, kInputAttr, "loss")});
  }

  if (options.emitSegmentLoss)
    emitSegmentLossFunc(b, *module, cfg, elem, storage, B, L);

  if (options.emitDecode)
    emitStreamingFunc(b, *module, cfg, elem, storage, B, Ld, "decode_step");
  if (options.emitPrefill)
    emitStreamingFunc(b, *module, cfg, elem, storage, B, Lp, "prefill");
  if (options.emitStreamingLoss) {
    if (options.emitDecode)
      emitNllFunc(b, *module, cfg, B, Ld, "decode_step_loss");
    if (options.emitPrefill)
      emitNllFunc(b, *module, cfg, B, Lp, "prefill_loss");
  }

  if (failed(verify(*module)))
    return llvm::createStringError("the emitted model IR failed to verify");
  return std::move(module);
}

} // namespace megalodon
