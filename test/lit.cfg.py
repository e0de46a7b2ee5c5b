# -*- Python -*-
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "MEGALODON"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
# fuzz/ holds the fuzzers' seed corpora, inputs rather than tests.
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs",
                   "fuzz"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.megalodon_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
# Helper scripts in Inputs/ run with the interpreter that runs lit.
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(
    ("%examples", os.path.join(config.megalodon_src_root, "examples")))
config.substitutions.append(
    ("%data", os.path.join(config.megalodon_src_root, "data")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.megalodon_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["megalodon-opt", "megalodon-run"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The numeric tests lower to LLVM with upstream mlir-opt and run the result
# with mlir-runner, which loads the runtime support libraries of the LLVM
# install (libs live next to bin/, in lib/).
config.substitutions.append(
    ("%mlir_lib_dir",
     os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")))
llvm_config.add_tool_substitutions(["mlir-opt", "mlir-runner"],
                                   [config.llvm_tools_dir])

# Multi-process tests: `REQUIRES: mpi`, launched with %mpirun (two processes
# may share one core, and a container may run the tests as root).
if config.megalodon_mpirun:
    config.available_features.add("mpi")
    config.substitutions.append(
        ("%mpirun", config.megalodon_mpirun + " --oversubscribe"))
    config.environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    config.environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"

# PTX checks: `REQUIRES: ptxas` where the CUDA toolkit's assembler is
# installed (PATH, else /usr/local/cuda/bin); the build itself never needs it.
import shutil
ptxas = shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas"
    if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
config.substitutions.append(
    ("%scripts", os.path.join(config.megalodon_src_root, "scripts")))
