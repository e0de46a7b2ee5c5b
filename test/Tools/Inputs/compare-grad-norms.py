"""Compares two `megalodon-run grad --json` outputs: the loss, the global
norm and every per-parameter norm must agree within a relative tolerance."""
import json
import sys

a, b = (json.load(open(path)) for path in sys.argv[1:3])
tolerance = float(sys.argv[3])


def close(x, y):
    return abs(x - y) <= tolerance * max(abs(y), 1e-12)


failures = []
for key in ("loss", "global_grad_norm"):
    if not close(a[key], b[key]):
        failures.append(f"{key}: {a[key]} vs {b[key]}")
if a["grad_norms"].keys() != b["grad_norms"].keys():
    failures.append("the parameter names differ")
for name, value in a["grad_norms"].items():
    if name in b["grad_norms"] and not close(value, b["grad_norms"][name]):
        failures.append(f"{name}: {value} vs {b['grad_norms'][name]}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"{len(a['grad_norms'])} gradient norms agree")
