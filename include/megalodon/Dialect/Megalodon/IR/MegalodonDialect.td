//===- MegalodonDialect.td - The megalodon dialect ---------*- tablegen -*-===//
#ifndef MEGALODON_DIALECT_TD
#define MEGALODON_DIALECT_TD

include "mlir/IR/OpBase.td"

def Megalodon_Dialect : Dialect {
  let name = "megalodon";
  let summary = "Tensor-level operators of the Megalodon language model";
  let description = [{
    The `megalodon` dialect expresses a Megalodon model (MODEL.md) at the
    level of its operators: timestep normalization, the complex exponential
    moving average (CEMA), chunked attention with rotary embeddings, the norms
    and dense layers around them, and the loss. Ops have value semantics on
    ranked tensors; state carried between calls (normalization statistics,
    the CEMA complex state, the key/value cache of the current chunk) is
    passed explicitly as SSA values.

    Floating-point data is f32 or bf16. Statistics and the CEMA state are
    always f32 / complex<f32>: they accumulate over an unbounded stream.
  }];
  let cppNamespace = "::mlir::megalodon";
  // #megalodon.tile_config, and the check that it sits on a tunable op.
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
}

#endif // MEGALODON_DIALECT_TD
