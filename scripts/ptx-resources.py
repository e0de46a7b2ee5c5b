#!/usr/bin/env python3
"""Assembles every PTX kernel of a GPU-pipeline output with ptxas and reports
registers, spills and local memory per kernel.

    megalodon-opt model.mlir --megalodon-gpu-pipeline=chip=sm_90 -o out.mlir
    scripts/ptx-resources.py out.mlir --arch sm_90 [--ptxas PATH]

Exits non-zero when a kernel does not assemble or when any kernel spills
registers (every kernel of the pipeline is on the hot path of some entry
point). Prints a summary line and the kernels with the most registers.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ASSEMBLY = re.compile(r'assembly = "((?:[^"\\]|\\.)*)"')
ENTRY = re.compile(r"^\.visible \.entry (\w+)\(", re.M)
USAGE = re.compile(r"Compiling entry function '(\w+)'.*?Used (\d+) registers",
                   re.S)
SPILLS = re.compile(r"Function properties for (\w+)\s+(\d+) bytes stack frame,"
                    r" (\d+) bytes spill stores, (\d+) bytes spill loads")


def unescape(text):
    """MLIR string escapes: \\XX hex bytes, \\\\ and \\"."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in '\\"':
                out.append(ord(nxt))
                i += 2
                continue
            out += bytes.fromhex(text[i + 1:i + 3])
            i += 3
            continue
        out += c.encode()
        i += 1
    return out.rstrip(b"\0").decode()


def find_ptxas(explicit):
    if explicit:
        return explicit
    found = shutil.which("ptxas")
    if found:
        return found
    default = "/usr/local/cuda/bin/ptxas"
    return default if os.path.exists(default) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="output of --megalodon-gpu-pipeline")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--ptxas", default=None)
    parser.add_argument("--top", type=int, default=5,
                        help="kernels listed by register count")
    args = parser.parse_args()
    ptxas = find_ptxas(args.ptxas)
    if not ptxas:
        print("ptxas not found (PATH, /usr/local/cuda/bin)", file=sys.stderr)
        return 2

    modules = [unescape(m) for m in ASSEMBLY.findall(open(args.input).read())]
    if not modules:
        print(f"{args.input}: no PTX (gpu.binary assembly) found",
              file=sys.stderr)
        return 1
    # One ptxas run per file; all modules go into one run's worth of files by
    # concatenating their kernels would clash on names, so each is assembled
    # alone (ptxas is fast on these small kernels).
    kernels = {}
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, ptx in enumerate(modules):
            path = os.path.join(tmp, f"m{index}.ptx")
            with open(path, "w") as f:
                f.write(ptx)
            run = subprocess.run(
                [ptxas, f"-arch={args.arch}", "-v", "-o", os.devnull, path],
                capture_output=True, text=True)
            if run.returncode != 0:
                names = ENTRY.findall(ptx)
                failures.append((names, run.stderr.strip()))
                continue
            log = run.stderr
            for name, regs in USAGE.findall(log):
                kernels.setdefault(name, {})["registers"] = int(regs)
            for name, stack, stores, loads in SPILLS.findall(log):
                entry = kernels.setdefault(name, {})
                entry["stack"] = int(stack)
                entry["spills"] = int(stores) + int(loads)

    for names, error in failures:
        print(f"FAILED {', '.join(names)}:\n{error}")
    spilling = sorted(n for n, k in kernels.items() if k.get("spills", 0) > 0)
    registers = [k.get("registers", 0) for k in kernels.values()]
    print(f"{args.arch}: {len(kernels)} kernels assembled, "
          f"{len(failures)} failed, {len(spilling)} spill, "
          f"max {max(registers, default=0)} registers, "
          f"max stack {max((k.get('stack', 0) for k in kernels.values()), default=0)} bytes")
    ranked = sorted(kernels.items(), key=lambda kv: -kv[1].get("registers", 0))
    for name, k in ranked[:args.top]:
        print(f"  {name}: {k.get('registers', 0)} registers, "
              f"{k.get('stack', 0)} bytes stack, {k.get('spills', 0)} bytes spilled")
    for name in spilling:
        print(f"SPILL {name}: {kernels[name]['spills']} bytes")
    return 1 if failures or spilling else 0


if __name__ == "__main__":
    sys.exit(main())
