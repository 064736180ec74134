#!/usr/bin/env python3
"""Interoperability of netgrow's safetensors files with the reference `safetensors` package.

C++ -> Python: io_interop_tool writes a netgrow checkpoint and, separately, the names, dtypes, shapes
and values it must hold; safetensors.numpy.load_file must read exactly those, and the metadata must
carry netgrow's records. Python -> C++: save_file writes every dtype numpy has (plus a scalar and an
empty tensor); io_interop_tool must read back the same dtypes, shapes, values and metadata.

Usage: check_safetensors.py <path to io_interop_tool> <work directory>
Exits 77 (ctest: skipped) when numpy or safetensors is missing.
"""
import json
import os
import subprocess
import sys

SKIP = 77


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    try:
        import numpy as np
        from safetensors import safe_open
        from safetensors.numpy import load_file, save_file
    except ImportError as e:
        print(f"SKIP: Python module '{e.name}' not found (pip install numpy safetensors to run this test)")
        return SKIP

    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    numpy_types = {
        "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16, "F16": np.float16,
        "I32": np.int32, "U32": np.uint32, "F32": np.float32, "F64": np.float64, "I64": np.int64, "U64": np.uint64,
    }

    # C++ -> Python
    checkpoint = os.path.join(work, "netgrow.safetensors")
    expected_path = os.path.join(work, "expected.json")
    subprocess.run([tool, "write", checkpoint, expected_path], check=True)
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    tensors = load_file(checkpoint)
    if sorted(tensors) != sorted(expected["tensors"]):
        fail(f"tensor names {sorted(tensors)} != {sorted(expected['tensors'])}")
    for name, want in expected["tensors"].items():
        got = tensors[name]
        if got.dtype != numpy_types[want["dtype"]]:
            fail(f"{name}: dtype {got.dtype}, expected {want['dtype']}")
        if list(got.shape) != want["shape"]:
            fail(f"{name}: shape {list(got.shape)}, expected {want['shape']}")
        if not np.array_equal(got.ravel(), np.array(want["values"], dtype=got.dtype)):
            fail(f"{name}: values differ")
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "0.weight.state.0", "2.bias.lr_scale"):
        if name not in tensors:
            fail(f"missing tensor {name}")
    if tensors["0.weight"].shape != (4, 3):
        fail("0.weight is not (4, 3)")
    with safe_open(checkpoint, framework="np") as f:
        metadata = f.metadata()
    if metadata.get("netgrow.format_version") != "1" or metadata.get("origin") != "netgrow interop test":
        fail(f"metadata {metadata}")
    architecture = json.loads(metadata["netgrow.architecture"])
    if [layer["kind"] for layer in architecture] != ["Dense", "Relu1", "Dense"]:
        fail(f"architecture {architecture}")
    optimizer = json.loads(metadata["netgrow.optimizer"])
    if optimizer["kind"] != "Sgd" or optimizer["steps"] != 2:
        fail(f"optimizer record {optimizer}")

    # Python -> C++
    arrays = {
        "f32": (np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(7)),
        "f64": np.linspace(-1, 1, 5, dtype=np.float64),
        "f16": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
        "bool": np.array([True, False, True]),
        "i8": np.array([-128, 127], dtype=np.int8),
        "u8": np.array([0, 255], dtype=np.uint8),
        "i16": np.array([-32768, 5], dtype=np.int16),
        "u16": np.array([65535], dtype=np.uint16),
        "i32": np.arange(-3, 3, dtype=np.int32).reshape(3, 2),
        "u32": np.array([4294967295], dtype=np.uint32),
        "i64": np.array([-(2**63), 2**63 - 1], dtype=np.int64),
        "u64": np.array([2**64 - 1], dtype=np.uint64),
        "rank4": np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    python_file = os.path.join(work, "python.safetensors")
    save_file(arrays, python_file, metadata={"origin": "python", "note": "Größe"})
    dumped = json.loads(subprocess.run([tool, "dump", python_file], check=True, capture_output=True,
                                       text=True, encoding="utf-8").stdout)
    if dumped["metadata"] != {"origin": "python", "note": "Größe"}:
        fail(f"metadata read by netgrow: {dumped['metadata']}")
    if sorted(dumped["tensors"]) != sorted(arrays):
        fail(f"tensor names read by netgrow: {sorted(dumped['tensors'])}")
    names = {v: k for k, v in numpy_types.items()}
    for name, array in arrays.items():
        got = dumped["tensors"][name]
        if got["dtype"] != names[array.dtype.type]:
            fail(f"{name}: dtype {got['dtype']}, expected {names[array.dtype.type]}")
        if got["shape"] != list(array.shape):
            fail(f"{name}: shape {got['shape']}, expected {list(array.shape)}")
        if got["dtype"] == "F16":
            if got["values"] != array.tobytes().hex():
                fail(f"{name}: bytes differ")
        elif not np.array_equal(np.array(got["values"], dtype=array.dtype).reshape(array.shape), array):
            fail(f"{name}: values differ: {got['values']} vs {array.ravel().tolist()}")

    print(f"OK: {len(tensors)} tensors C++ -> Python, {len(arrays)} tensors Python -> C++ match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
