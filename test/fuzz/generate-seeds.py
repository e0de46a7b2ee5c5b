#!/usr/bin/env python3
"""Writes the binary seed inputs of the fuzzers (safetensors files, decoding
states, token files) into the corpus directories next to this script.

The text seeds (configs, manifests, IR) are plain files kept as they are. The
decoding-state seeds carry the config that fuzz/DecodeStateFuzzer.cpp
validates against; keep FUZZ_CONFIG in step with fuzzConfig() there.

Run it from anywhere; it needs nothing beyond the Python standard library and
rewrites the same bytes every time.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPE_SIZE = {"F32": 4, "BF16": 2, "F64": 8, "I32": 4, "I64": 8, "C64": 8}

FUZZ_CONFIG = {
    "num_layers": 1, "model_dim": 8, "z_dim": 4, "value_dim": 8,
    "num_heads": 1, "ffn_hidden_dim": 8, "cema_ndim": 2, "chunk_size": 4,
    "norm_num_groups": 2, "vocab_size": 16,
}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def i64(values):
    return struct.pack("<%dq" % len(values), *values)


def safetensors(tensors, metadata=None):
    """`tensors` is a list of (name, dtype, shape, data); the data section
    holds them back to back in list order, as the format requires."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(
        t[3] for t in tensors)


def tensor(name, dtype, shape, fill=0.0):
    """A tensor whose data matches its shape: floats set to `fill`, integers
    to int(fill), C64 as (fill, 0) pairs."""
    n = numel(shape)
    if dtype == "F32":
        data = f32([fill] * n)
    elif dtype == "C64":
        data = f32([fill, 0.0] * n)
    elif dtype == "I64":
        data = i64([int(fill)] * n)
    else:
        data = bytes(n * DTYPE_SIZE[dtype])
    return (name, dtype, shape, data)


def state_tensors(cache_len, logits):
    c = FUZZ_CONFIG
    out = [tensor("cache_len", "I64", [], cache_len)]

    def norm(prefix):
        out.append(tensor(prefix + "count", "I64", [1], 0))
        out.append(tensor(prefix + "mean", "F32", [1, c["norm_num_groups"]]))
        out.append(tensor(prefix + "var", "F32", [1, c["norm_num_groups"]],
                          1.0))

    for layer in range(c["num_layers"]):
        p = "layers.%d." % layer
        norm(p + "timenorm.")
        out.append(tensor(p + "cema.hx", "C64",
                          [1, c["model_dim"], c["cema_ndim"]]))
        out.append(tensor(p + "attn.k_cache", "F32",
                          [1, c["chunk_size"], c["z_dim"]], 0.5))
        out.append(tensor(p + "attn.v_cache", "F32",
                          [1, c["chunk_size"], c["value_dim"]], -0.5))
    norm("output.final_norm.")
    out.append(("last_logits", "F32", [len(logits)], f32(logits)))
    return out


def state_metadata(position, version="1"):
    return {"format": "megalodon-decode-state", "version": version,
            "config": json.dumps(FUZZ_CONFIG), "position": str(position)}


def write(corpus, name, data):
    directory = os.path.join(HERE, corpus)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def safetensors_seeds():
    w = "SafetensorsFuzzer"
    write(w, "empty.safetensors", safetensors([]))
    write(w, "one-f32.safetensors",
          safetensors([("w", "F32", [2, 3], f32([1, 2, 3, 4, 5, 6]))]))
    write(w, "every-dtype.safetensors", safetensors(
        [tensor("a", "F32", [2], 1.5), tensor("b", "BF16", [3]),
         tensor("c", "F64", []), tensor("d", "I32", [1, 1]),
         tensor("e", "I64", [2], 7), tensor("f", "C64", [1], 2.0)],
        {"format": "pt", "note": "caf\u00e9"}))
    write(w, "zero-size.safetensors",
          safetensors([tensor("empty", "F32", [0, 4]),
                       tensor("x", "F32", [1])]))
    # Slightly broken: each violates one rule of the reader.
    good = safetensors([("w", "F32", [2], f32([1, 2]))])
    write(w, "broken-truncated.safetensors", good[:-3])
    write(w, "broken-header-length.safetensors",
          struct.pack("<Q", len(good)) + good[8:])
    write(w, "broken-dtype.safetensors",
          good.replace(b'"F32"', b'"F16"'))
    overlap = safetensors([("a", "F32", [1], f32([1])),
                           ("b", "F32", [1], f32([2]))])
    write(w, "broken-overlap.safetensors",
          overlap.replace(b'"data_offsets":[4,8]', b'"data_offsets":[0,4]'))
    write(w, "broken-shape.safetensors",
          good.replace(b'"shape":[2]', b'"shape":[3]'))


def decode_state_seeds():
    w = "DecodeStateFuzzer"
    vocab = FUZZ_CONFIG["vocab_size"]
    write(w, "fresh.safetensors",
          safetensors(state_tensors(0, []), state_metadata(0)))
    logits = [0.25 * i for i in range(vocab)]
    write(w, "position-6.safetensors",
          safetensors(state_tensors(2, logits), state_metadata(6)))
    # Slightly broken: each fails one check of validateDecodeState.
    write(w, "broken-cache-length.safetensors",
          safetensors(state_tensors(0, logits), state_metadata(5)))
    write(w, "broken-version.safetensors",
          safetensors(state_tensors(0, []), state_metadata(0, version="2")))
    missing = [t for t in state_tensors(0, [])
               if t[0] != "layers.0.attn.v_cache"]
    write(w, "broken-missing-tensor.safetensors",
          safetensors(missing, state_metadata(0)))
    wrong = [("layers.0.cema.hx", "F32", [1, 8, 4], t[3])
             if t[0] == "layers.0.cema.hx" else t
             for t in state_tensors(0, [])]
    write(w, "broken-dtype.safetensors", safetensors(wrong, state_metadata(0)))
    write(w, "broken-logits.safetensors",
          safetensors(state_tensors(0, [1.0] * (vocab - 1)),
                      state_metadata(0)))


def token_file_seeds():
    w = "TokenFileFuzzer"
    write(w, "text.txt", b"The quick brown fox.\n")
    write(w, "tokens.bin", struct.pack("<5i", 0, 1, 255, 65535, 31999))
    write(w, "broken-negative.bin", struct.pack("<3i", 3, -1, 4))
    write(w, "broken-length.bin", struct.pack("<2i", 1, 2)[:7])


if __name__ == "__main__":
    safetensors_seeds()
    decode_state_seeds()
    token_file_seeds()
