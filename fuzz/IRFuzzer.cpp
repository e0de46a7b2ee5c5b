//===- IRFuzzer.cpp - Fuzz the megalodon dialect's parser and verifiers ---===//
//
// megalodon-opt reads IR written by people and by other tools, so the
// dialect's parsers (generated from the assembly formats) and its verifiers
// must reject malformed ops with a diagnostic, never crash. The input is
// parsed as a module with the megalodon and func dialects, then verified as
// a separate step so that the verifiers also see ops whose shapes and
// attributes are wrong. A module that verifies must print and parse back to
// a module that verifies too (the round trip test/Dialect/ops.mlir checks on
// fixed inputs).
//
// Only this project's code is instrumented: libMLIR comes from the LLVM
// install, so coverage counts the megalodon ops, not the MLIR parser.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheck.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

/// Parses and verifies `text`; null when either step fails.
static OwningOpRef<ModuleOp> parseAndVerify(const std::string &text,
                                            MLIRContext &context) {
  // The parser's own verification is off so that verification runs exactly
  // once, as an explicit step.
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  if (!module || failed(verify(*module)))
    return nullptr;
  return module;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    r->insert<megalodon::MegalodonDialect, func::FuncDialect>();
    return r;
  }();
  // A fresh context per input: interned types and attributes of earlier
  // inputs must not change how this one parses, or a crash would not
  // reproduce from its saved input alone.
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });

  // The MLIR lexer reads the byte after the buffer; a std::string provides
  // the terminating NUL that libFuzzer's exact-size input lacks.
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseAndVerify(text, context);
  if (!module)
    return 0;

  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  os.flush();
  OwningOpRef<ModuleOp> again = parseAndVerify(printed, context);
  if (!again)
    std::fprintf(stderr, "printed module does not read back:\n%s\n",
                 printed.c_str());
  FUZZ_CHECK(again);
  return 0;
}
