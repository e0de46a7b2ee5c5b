//===- MegalodonAttrs.td - Attributes of the megalodon dialect -*- tablegen -*-===//
#ifndef MEGALODON_ATTRS_TD
#define MEGALODON_ATTRS_TD

include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.td"
include "mlir/IR/AttrTypeBase.td"

def Megalodon_TileConfigAttr : AttrDef<Megalodon_Dialect, "TileConfig"> {
  let mnemonic = "tile_config";
  let summary = "The tile sizes of one tunable op, and where they came from";
  let description = [{
    Attached to an op that implements TunableOpInterface under the name
    `megalodon.tile_config`; the op's tiling pass reads its sizes. `sizes`
    maps each size the op names to a positive integer; `source` records who
    chose them: `default` (derived from the target facts by
    megalodon-select-tile-configs), `database` (a tuning result) or `user`
    (written in the input, or asked for by a pipeline option such as
    `cema-matrix-block`).

    ```mlir
    %y, %h = megalodon.cema %x, ... {megalodon.tile_config =
        #megalodon.tile_config<{block_time = 64 : i64, lanes = 16 : i64,
                                state_group = 4 : i64}, source = "default">}
    ```

    Whether the sizes suit the op and the target is checked by the op's
    `verifyTileSizes` (megalodon-verify-tile-configs), not here: the
    attribute alone knows neither.
  }];
  let parameters = (ins "::mlir::DictionaryAttr":$sizes,
                        "::mlir::StringAttr":$source);
  let assemblyFormat = "`<` $sizes `,` `source` `=` $source `>`";
  let genVerifyDecl = 1;
}

#endif // MEGALODON_ATTRS_TD
