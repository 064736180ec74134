#!/usr/bin/env python3
"""Lists each folder's includes of netgrow headers by folder, and fails when one runs upward.

netgrow's headers sit on floors; a header may include headers of its own floor or below, never above:

    core  <-  backend, kernels  <-  ops  <-  layers  <-  network, optim  <-  blocks, data  <-  grow, prune
          <-  io, models  <-  train, dist  <-  the umbrella headers netgrow.hpp and cuda.hpp

kernels/ (the CUDA kernel families) include only core/ and each other. A module umbrella header
(include/netgrow/<module>.hpp) sits on its module's floor. Two folders of one floor must not include
each other (no loops between folders).

    python3 scripts/check_includes.py [--quiet]

Prints, per folder, the folders it includes (with counts) and then every upward include, and exits 1
when there is any. CTest runs it (check_includes).
"""
import collections
import pathlib
import re
import sys

FLOORS = {
    "core": 0,
    "backend": 1,
    "kernels": 1,
    "ops": 2,
    "layers": 3,
    "network": 4,
    "optim": 4,
    "blocks": 5,
    "data": 5,
    "grow": 6,
    "prune": 6,
    "io": 7,
    "models": 7,
    "dist": 8,
    "train": 8,
    "netgrow": 9,  # netgrow.hpp and cuda.hpp: everything
    "cuda": 9,
}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]netgrow/([a-z_]+)(/[^">]*)?\.(?:hpp|cuh)?[">]', re.M)


def folder_of(root: pathlib.Path, path: pathlib.Path) -> str:
    rel = path.relative_to(root)
    if rel.parts[0] == "kernels":
        return "kernels"
    inner = rel.parts[2:]  # include/netgrow/<folder>/...
    return inner[0] if len(inner) > 1 else pathlib.Path(inner[0]).stem


def main() -> int:
    quiet = "--quiet" in sys.argv
    root = pathlib.Path(__file__).resolve().parent.parent
    files = sorted((root / "include" / "netgrow").rglob("*.hpp")) + sorted((root / "kernels").glob("*.cuh"))
    edges = collections.defaultdict(collections.Counter)
    upward = []
    for path in files:
        source = folder_of(root, path)
        if source not in FLOORS:
            upward.append(f"{path.relative_to(root)}: folder '{source}' has no floor in scripts/check_includes.py")
            continue
        for match in INCLUDE.finditer(path.read_text()):
            target = match.group(1) if match.group(2) else match.group(1)
            if target == "kernels" or (source == "kernels" and match.group(2) is None):
                target = "kernels"
            if target not in FLOORS:
                upward.append(f"{path.relative_to(root)}: includes netgrow/{target}, a folder with no floor")
                continue
            edges[source][target] += 1
            line = path.read_text()[: match.start()].count("\n") + 1
            where = f"{path.relative_to(root)}:{line}"
            if FLOORS[target] > FLOORS[source]:
                upward.append(f"{where}: {source} (floor {FLOORS[source]}) includes {target} (floor {FLOORS[target]})")
            elif source == "kernels" and target not in ("core", "kernels"):
                upward.append(f"{where}: kernels/ includes {target}; kernels include only core/ and kernels/")
    for a in edges:
        for b in edges[a]:
            if a < b and a in edges.get(b, {}) and FLOORS[a] == FLOORS[b]:
                upward.append(f"{a} and {b} include each other (a loop between folders of floor {FLOORS[a]})")
    if not quiet:
        for source in sorted(edges, key=lambda f: (FLOORS[f], f)):
            row = ", ".join(f"{t} {n}" for t, n in sorted(edges[source].items(), key=lambda kv: (FLOORS[kv[0]], kv[0])))
            print(f"{source:8} (floor {FLOORS[source]}) includes: {row}")
    if upward:
        print(f"\n{len(upward)} include(s) run upward:")
        for u in upward:
            print("  " + u)
        return 1
    print("\nno include runs upward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
