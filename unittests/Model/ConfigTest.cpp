//===- ConfigTest.cpp - Model configuration parsing tests -----------------===//

#include "megalodon/Model/Config.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <string>

using namespace megalodon;

namespace {

/// The repository's examples/ folder, found from this file's location so the
/// test needs no build-system plumbing.
std::string examplePath(llvm::StringRef name) {
  llvm::SmallString<256> path(__FILE__);
  llvm::sys::path::remove_filename(path); // unittests/Model
  llvm::sys::path::remove_filename(path); // unittests
  llvm::sys::path::remove_filename(path); // repository root
  llvm::sys::path::append(path, "examples", name);
  return std::string(path);
}

ModelConfig loadExample(llvm::StringRef name) {
  llvm::Expected<ModelConfig> config = loadModelConfig(examplePath(name));
  if (!config) {
    ADD_FAILURE() << llvm::toString(config.takeError());
    return ModelConfig();
  }
  return *config;
}

/// The error message of a parse that must fail, or "" when it succeeded.
std::string parseError(llvm::StringRef json) {
  llvm::Expected<ModelConfig> config = parseModelConfig(json);
  if (config)
    return "";
  return llvm::toString(config.takeError());
}

void expectSameConfig(const ModelConfig &a, const ModelConfig &b) {
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.model_dim, b.model_dim);
  EXPECT_EQ(a.z_dim, b.z_dim);
  EXPECT_EQ(a.value_dim, b.value_dim);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.ffn_hidden_dim, b.ffn_hidden_dim);
  EXPECT_EQ(a.cema_ndim, b.cema_ndim);
  EXPECT_EQ(a.chunk_size, b.chunk_size);
  EXPECT_EQ(a.norm_num_groups, b.norm_num_groups);
  EXPECT_EQ(a.norm_affine, b.norm_affine);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.rope_base, b.rope_base);
  EXPECT_EQ(a.swiglu, b.swiglu);
  EXPECT_EQ(a.rescale_nffn, b.rescale_nffn);
  EXPECT_EQ(a.scale_emb, b.scale_emb);
  EXPECT_EQ(a.share_emb, b.share_emb);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.output_size, b.output_size);
  EXPECT_EQ(a.init_mode, b.init_mode);
  EXPECT_EQ(a.dropout, b.dropout);
  EXPECT_EQ(a.attention_dropout, b.attention_dropout);
  EXPECT_EQ(a.hidden_dropout, b.hidden_dropout);
}

const char *const kExamples[] = {
    "tiny.json",          "small.json",    "mega200M.json", "mega1.3B.json",
    "mega1.3B_pg19.json", "mega7.1B.json", "mega7.3B.json"};

TEST(ModelConfig, EveryExampleParses) {
  for (const char *name : kExamples) {
    SCOPED_TRACE(name);
    llvm::Expected<ModelConfig> config = loadModelConfig(examplePath(name));
    ASSERT_TRUE(static_cast<bool>(config))
        << llvm::toString(config.takeError());
    EXPECT_FALSE(static_cast<bool>(validateModelConfig(*config)));
  }
}

TEST(ModelConfig, TinyIsTheWorkedExample) {
  ModelConfig c = loadExample("tiny.json");
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.vocab_size, 256);
  EXPECT_EQ(c.model_dim, 64);
  EXPECT_EQ(c.z_dim, 32);
  EXPECT_EQ(c.value_dim, 128);
  EXPECT_EQ(c.num_heads, 2);
  EXPECT_EQ(c.ffn_hidden_dim, 128);
  EXPECT_EQ(c.cema_ndim, 4);
  EXPECT_EQ(c.chunk_size, 16);
  EXPECT_EQ(c.norm_num_groups, 4);
  EXPECT_EQ(c.headQKDim(), 16);
  EXPECT_EQ(c.headValueDim(), 64);
  EXPECT_EQ(c.outputSize(), 256);
  EXPECT_EQ(c.rope_base, 10000.0);
}

TEST(ModelConfig, SmallExample) {
  ModelConfig c = loadExample("small.json");
  EXPECT_EQ(c.num_layers, 4);
  EXPECT_EQ(c.model_dim, 256);
  EXPECT_EQ(c.z_dim, 64);
  EXPECT_EQ(c.value_dim, 512);
  EXPECT_EQ(c.num_heads, 2);
  EXPECT_EQ(c.ffn_hidden_dim, 640);
  EXPECT_EQ(c.cema_ndim, 16);
  EXPECT_EQ(c.chunk_size, 256);
  EXPECT_EQ(c.norm_num_groups, 16);
  EXPECT_EQ(c.vocab_size, 1024);
}

TEST(ModelConfig, NamedModelsMatchTheTable) {
  struct Row {
    const char *file;
    int64_t layers, D, H, Z, E, F, C, G;
    bool swiglu, scaleEmb, shareEmb;
  };
  const Row rows[] = {
      {"mega200M.json", 12, 1024, 1, 256, 2048, 2560, 2048, 32, false, false,
       false},
      {"mega1.3B.json", 24, 2048, 2, 512, 4096, 4864, 2048, 64, false, false,
       false},
      {"mega1.3B_pg19.json", 24, 2048, 2, 512, 4096, 3584, 2048, 64, true, true,
       true},
      {"mega7.1B.json", 32, 4096, 4, 1024, 8192, 11264, 2048, 64, false, false,
       false},
      {"mega7.3B.json", 32, 4096, 4, 1024, 8192, 8192, 2048, 64, true, false,
       false},
  };
  for (const Row &row : rows) {
    SCOPED_TRACE(row.file);
    ModelConfig c = loadExample(row.file);
    EXPECT_EQ(c.num_layers, row.layers);
    EXPECT_EQ(c.model_dim, row.D);
    EXPECT_EQ(c.num_heads, row.H);
    EXPECT_EQ(c.z_dim, row.Z);
    EXPECT_EQ(c.value_dim, row.E);
    EXPECT_EQ(c.ffn_hidden_dim, row.F);
    EXPECT_EQ(c.chunk_size, row.C);
    EXPECT_EQ(c.norm_num_groups, row.G);
    EXPECT_EQ(c.cema_ndim, 16);
    EXPECT_EQ(c.swiglu, row.swiglu);
    EXPECT_EQ(c.scale_emb, row.scaleEmb);
    EXPECT_EQ(c.share_emb, row.shareEmb);
    EXPECT_FALSE(c.rescale_nffn);
    EXPECT_EQ(c.vocab_size, 32000);
    EXPECT_EQ(c.init_mode, "he");
  }
}

TEST(ModelConfig, Defaults) {
  llvm::Expected<ModelConfig> parsed = parseModelConfig(R"({"vocab_size": 7})");
  ASSERT_TRUE(static_cast<bool>(parsed)) << llvm::toString(parsed.takeError());
  const ModelConfig &c = *parsed;
  EXPECT_EQ(c.num_layers, 8);
  EXPECT_EQ(c.model_dim, 1024);
  EXPECT_EQ(c.z_dim, 256);
  EXPECT_EQ(c.value_dim, 2048);
  EXPECT_EQ(c.num_heads, 1);
  EXPECT_EQ(c.ffn_hidden_dim, 2048);
  EXPECT_EQ(c.cema_ndim, 16);
  EXPECT_EQ(c.chunk_size, 2048);
  EXPECT_EQ(c.norm_num_groups, 32);
  EXPECT_TRUE(c.norm_affine);
  EXPECT_EQ(c.norm_eps, 1e-5);
  EXPECT_EQ(c.rope_base, 10000.0);
  EXPECT_FALSE(c.swiglu);
  EXPECT_FALSE(c.rescale_nffn);
  EXPECT_FALSE(c.scale_emb);
  EXPECT_FALSE(c.share_emb);
  EXPECT_EQ(c.vocab_size, 7);
  EXPECT_EQ(c.output_size, -1);
  EXPECT_EQ(c.outputSize(), 7);
  EXPECT_EQ(c.init_mode, "he");
  EXPECT_EQ(c.dropout, 0.0);
  EXPECT_EQ(c.attention_dropout, 0.0);
  EXPECT_EQ(c.hidden_dropout, 0.0);
}

TEST(ModelConfig, AcceptedSpellings) {
  // Integral-valued numbers are integers; integer 0 is a valid rate.
  llvm::Expected<ModelConfig> c = parseModelConfig(
      R"({"vocab_size": 256.0, "model_dim": 64.0, "norm_num_groups": 4,
          "dropout": 0, "attention_dropout": 0.0, "hidden_dropout": -0.0,
          "rope_base": 500000, "norm_eps": 1, "output_size": 300,
          "init_mode": "xavier"})");
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->vocab_size, 256);
  EXPECT_EQ(c->model_dim, 64);
  EXPECT_EQ(c->rope_base, 500000.0);
  EXPECT_EQ(c->norm_eps, 1.0);
  EXPECT_EQ(c->outputSize(), 300);
  EXPECT_EQ(c->init_mode, "xavier");

  llvm::Expected<ModelConfig> nullBase =
      parseModelConfig(R"({"vocab_size": 5, "rope_base": null})");
  ASSERT_TRUE(static_cast<bool>(nullBase))
      << llvm::toString(nullBase.takeError());
  EXPECT_EQ(nullBase->rope_base, 10000.0);

  // share_emb is fine when output_size is -1 or equals vocab_size.
  EXPECT_EQ(parseError(R"({"vocab_size": 9, "share_emb": true})"), "");
  EXPECT_EQ(
      parseError(R"({"vocab_size": 9, "share_emb": true, "output_size": 9})"),
      "");
  for (const char *mode : {"he", "bert", "gaussian", "xavier", "none"})
    EXPECT_EQ(parseError(std::string(R"({"vocab_size": 9, "init_mode": ")") +
                         mode + "\"}"),
              "")
        << mode;
}

TEST(ModelConfig, ErrorsNameTheKey) {
  struct Case {
    const char *json;
    const char *expected;
  };
  const Case cases[] = {
      {R"({"vocab_size": 5, "foo": 1})", "config: unknown key 'foo'"},
      {R"({"vocab_size": 5, "efficient_attn": null})",
       "config: unknown key 'efficient_attn'"},
      {R"({"vocab_size": 5, "model_dim": "64"})",
       "config: key 'model_dim' must be an integer"},
      {R"({"vocab_size": 5, "model_dim": 64.5})",
       "config: key 'model_dim' must be an integer"},
      {R"({"vocab_size": 5, "model_dim": true})",
       "config: key 'model_dim' must be an integer"},
      {R"({"vocab_size": 5, "model_dim": null})",
       "config: key 'model_dim' must be an integer"},
      {R"({"vocab_size": 5, "model_dim": [64]})",
       "config: key 'model_dim' must be an integer"},
      {R"({"vocab_size": 5, "model_dim": 1e30})",
       "config: key 'model_dim' is out of range"},
      {R"({"vocab_size": 5, "ffn_hidden_dim": 4611686018427387904})",
       "config: key 'ffn_hidden_dim' (4611686018427387904) exceeds the limit "
       "of 16777216"},
      {R"({"vocab_size": 16777217})",
       "config: key 'vocab_size' or 'output_size' exceeds the limit of "
       "16777216"},
      {R"({"vocab_size": 5, "num_layers": 2.5})",
       "config: key 'num_layers' must be an integer"},
      {R"({"vocab_size": 5, "norm_affine": 1})",
       "config: key 'norm_affine' must be a boolean"},
      {R"({"vocab_size": 5, "swiglu": "true"})",
       "config: key 'swiglu' must be a boolean"},
      {R"({"vocab_size": 5, "share_emb": null})",
       "config: key 'share_emb' must be a boolean"},
      {R"({"vocab_size": 5, "rescale_nffn": 0})",
       "config: key 'rescale_nffn' must be a boolean"},
      {R"({"vocab_size": 5, "scale_emb": "yes"})",
       "config: key 'scale_emb' must be a boolean"},
      {R"({"vocab_size": 5, "norm_eps": "1e-5"})",
       "config: key 'norm_eps' must be a number"},
      {R"({"vocab_size": 5, "dropout": false})",
       "config: key 'dropout' must be a number"},
      {R"({"vocab_size": 5, "rope_base": "10000"})", "key 'rope_base'"},
      {R"({"vocab_size": 5, "rope_base": 0})", "key 'rope_base'"},
      {R"({"vocab_size": 5, "rope_base": -2})", "key 'rope_base'"},
      {R"({"vocab_size": 5, "init_mode": 3})",
       "config: key 'init_mode' must be a string"},
      {R"({"vocab_size": 5, "init_mode": "kaiming"})", "key 'init_mode'"},
      {R"({"vocab_size": 5, "init_mode": "HE"})", "key 'init_mode'"},
      {R"({})", "key 'vocab_size' is required"},
      {R"({"model_dim": 64})", "key 'vocab_size' is required"},
      {R"({"vocab_size": 0})", "key 'vocab_size'"},
      {R"({"vocab_size": -1})", "key 'vocab_size'"},
      {R"({"vocab_size": "32000"})", "key 'vocab_size' must be an integer"},
      {R"({"vocab_size": 5, "output_size": 0})", "key 'output_size'"},
      {R"({"vocab_size": 5, "output_size": -2})", "key 'output_size'"},
      {R"({"vocab_size": 5, "num_layers": 0})", "key 'num_layers'"},
      {R"({"vocab_size": 5, "model_dim": -64})", "key 'model_dim'"},
      {R"({"vocab_size": 5, "z_dim": 0})", "key 'z_dim'"},
      {R"({"vocab_size": 5, "value_dim": 0})", "key 'value_dim'"},
      {R"({"vocab_size": 5, "num_heads": 0})", "key 'num_heads'"},
      {R"({"vocab_size": 5, "ffn_hidden_dim": -1})", "key 'ffn_hidden_dim'"},
      {R"({"vocab_size": 5, "cema_ndim": 0})", "key 'cema_ndim'"},
      {R"({"vocab_size": 5, "chunk_size": 0})", "key 'chunk_size'"},
      {R"({"vocab_size": 5, "norm_num_groups": 0})", "key 'norm_num_groups'"},
      {R"({"vocab_size": 5, "z_dim": 30, "num_heads": 4})",
       "key 'z_dim' (30) must be divisible by num_heads (4)"},
      {R"({"vocab_size": 5, "value_dim": 2050, "num_heads": 4})",
       "key 'value_dim' (2050) must be divisible by num_heads (4)"},
      {R"({"vocab_size": 5, "z_dim": 6, "num_heads": 2})",
       "key 'z_dim': the per-head width z_dim/num_heads (3) must be even"},
      {R"({"vocab_size": 5, "model_dim": 100})",
       "key 'norm_num_groups' (32) must divide model_dim (100)"},
      {R"({"vocab_size": 5, "norm_eps": 0})", "key 'norm_eps'"},
      {R"({"vocab_size": 5, "norm_eps": -1e-5})", "key 'norm_eps'"},
      {R"({"vocab_size": 5, "dropout": 0.1})",
       "config: key 'dropout' must be 0: dropout is not supported"},
      {R"({"vocab_size": 5, "attention_dropout": 0.1})",
       "config: key 'attention_dropout' must be 0: dropout is not supported"},
      {R"({"vocab_size": 5, "hidden_dropout": 1})",
       "config: key 'hidden_dropout' must be 0: dropout is not supported"},
      {R"({"vocab_size": 5, "share_emb": true, "output_size": 6})",
       "key 'share_emb' requires output_size (6) to equal vocab_size (5)"},
      {R"([1, 2])", "config: the top level must be a JSON object"},
      {R"({"vocab_size": 5,})", "config: invalid JSON"},
      {"", "config: invalid JSON"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.json);
    std::string error = parseError(c.json);
    ASSERT_NE(error, "") << "parse should have failed";
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "error: " << error << "\nexpected to contain: " << c.expected;
  }
}

TEST(ModelConfig, UnknownKeyReportIsDeterministic) {
  // Several unknown keys: the alphabetically first one is reported.
  EXPECT_EQ(parseError(R"({"vocab_size": 5, "zeta": 1, "alpha": 2})"),
            "config: unknown key 'alpha'");
}

TEST(ModelConfig, ValidateStruct) {
  ModelConfig c;
  // vocab_size has no default.
  std::string error = llvm::toString(validateModelConfig(c));
  EXPECT_NE(error.find("key 'vocab_size'"), std::string::npos) << error;
  c.vocab_size = 100;
  EXPECT_FALSE(static_cast<bool>(validateModelConfig(c)));
  c.rope_base = std::nan("");
  error = llvm::toString(validateModelConfig(c));
  EXPECT_NE(error.find("key 'rope_base'"), std::string::npos) << error;
  c.rope_base = 10000.0;
  c.norm_eps = std::nan("");
  error = llvm::toString(validateModelConfig(c));
  EXPECT_NE(error.find("key 'norm_eps'"), std::string::npos) << error;
}

TEST(ModelConfig, RoundTrip) {
  for (const char *name : kExamples) {
    SCOPED_TRACE(name);
    ModelConfig c = loadExample(name);
    llvm::Expected<ModelConfig> back = parseModelConfig(modelConfigToJson(c));
    ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
    expectSameConfig(c, *back);
  }

  ModelConfig odd;
  odd.num_layers = 3;
  odd.model_dim = 48;
  odd.z_dim = 24;
  odd.value_dim = 36;
  odd.num_heads = 3;
  odd.ffn_hidden_dim = 17;
  odd.cema_ndim = 5;
  odd.chunk_size = 7;
  odd.norm_num_groups = 6;
  odd.norm_affine = false;
  odd.norm_eps = 1.2345678901234567e-7;
  odd.rope_base = 500000.25;
  odd.swiglu = true;
  odd.rescale_nffn = true;
  odd.scale_emb = true;
  odd.share_emb = true;
  odd.vocab_size = 300;
  odd.output_size = 300;
  odd.init_mode = "gaussian";
  ASSERT_FALSE(static_cast<bool>(validateModelConfig(odd)));
  std::string json = modelConfigToJson(odd);
  llvm::Expected<ModelConfig> back = parseModelConfig(json);
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  expectSameConfig(odd, *back);
}

TEST(ModelConfig, JsonSpelling) {
  ModelConfig c = loadExample("tiny.json");
  std::string json = modelConfigToJson(c);
  // rope_base is written as a number even though the file says null.
  EXPECT_NE(json.find("\"rope_base\": 10000"), std::string::npos) << json;
  EXPECT_NE(json.find("\"norm_eps\": 1e-05"), std::string::npos) << json;
  EXPECT_NE(json.find("\"init_mode\": \"he\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"output_size\": -1"), std::string::npos) << json;
  // Every field is written.
  for (const char *key : {"num_layers",    "model_dim",    "z_dim",
                          "value_dim",     "num_heads",    "ffn_hidden_dim",
                          "cema_ndim",     "chunk_size",   "norm_num_groups",
                          "norm_affine",   "norm_eps",     "rope_base",
                          "swiglu",        "rescale_nffn", "scale_emb",
                          "share_emb",     "vocab_size",   "output_size",
                          "init_mode",     "dropout",      "attention_dropout",
                          "hidden_dropout"})
    EXPECT_NE(json.find(std::string("\"") + key + "\":"), std::string::npos)
        << key;
}

TEST(ModelConfig, LoadErrorsNameTheFile) {
  std::string missing = examplePath("does-not-exist.json");
  llvm::Expected<ModelConfig> c = loadModelConfig(missing);
  ASSERT_FALSE(static_cast<bool>(c));
  std::string error = llvm::toString(c.takeError());
  EXPECT_NE(error.find(missing), std::string::npos) << error;

  llvm::SmallString<128> path;
  int fd;
  ASSERT_FALSE(static_cast<bool>(
      llvm::sys::fs::createTemporaryFile("bad-config", "json", fd, path)));
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << R"({"vocab_size": 5, "z_dims": 64})";
  }
  llvm::Expected<ModelConfig> bad = loadModelConfig(path);
  ASSERT_FALSE(static_cast<bool>(bad));
  error = llvm::toString(bad.takeError());
  EXPECT_NE(error.find(std::string(path)), std::string::npos) << error;
  EXPECT_NE(error.find("unknown key 'z_dims'"), std::string::npos) << error;
  llvm::sys::fs::remove(path);
}

} // namespace
