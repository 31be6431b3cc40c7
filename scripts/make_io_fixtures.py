#!/usr/bin/python3
"""Writes the small files in tests/fixtures/io/ that tests/tensor/test_io.cpp reads.

.npy files come from NumPy itself; the .safetensors file is written by hand (struct + json),
since no safetensors package is installed. Run with Debian's python3, which has NumPy:
    /usr/bin/python3 scripts/make_io_fixtures.py
The values are simple on purpose: test_io.cpp spells out the same ones.
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "io")


def save(name, array, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, version=version)
    back = np.load(path)
    assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array, equal_nan=True)


def write_npy_fixtures():
    save("f4_2x3.npy", (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3))
    save("f8_specials.npy", np.array([0.1, -2.5, 1e300, -0.0, np.inf, -np.inf, np.nan], dtype=np.float64))
    save("i8_2x2.npy", np.array([[-(2**62), -1], [0, 2**40]], dtype=np.int64))
    save("u1_5.npy", np.array([0, 1, 127, 128, 255], dtype=np.uint8))
    save("b1_2x3.npy", np.array([[True, False, True], [False, False, True]]))
    save("i4_4.npy", np.array([-(2**31), -1, 0, 2**31 - 1], dtype=np.int32))
    save("f8_scalar.npy", np.array(3.25, dtype=np.float64))
    save("f4_empty_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    # Column-major: element [i, j, k] is i*12 + j*4 + k, stored with i varying fastest.
    fortran = np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
    save("f8_fortran_2x3x4.npy", fortran)
    save("i4_fortran_3x2.npy", np.asfortranarray(np.arange(6, dtype=np.int32).reshape(3, 2)))
    save("f4_v2.npy", np.arange(4, dtype=np.float32), version=(2, 0))
    save("f4_v3.npy", np.arange(4, dtype=np.float32), version=(3, 0))
    for name in ("f8_fortran_2x3x4.npy", "i4_fortran_3x2.npy"):
        with open(os.path.join(OUT, name), "rb") as f:
            assert b"'fortran_order': True" in f.read(128)


def write_safetensors_fixture():
    # (name, dtype, shape, raw bytes), in data order.
    tensors = [
        ("weight", "F32", [2, 3], np.arange(6, dtype=np.float32).tobytes()),
        ("bias", "F64", [3], np.array([0.5, -1.0, 2.0], dtype=np.float64).tobytes()),
        ("step", "I64", [], np.array(-7, dtype=np.int64).tobytes()),
        ("empty", "F32", [0, 2], b""),
        ("mask", "BOOL", [2, 2], bytes([1, 0, 0, 1])),
        ("pixels", "U8", [4], bytes([0, 9, 200, 255])),
    ]
    header = {}
    # The header lists names alphabetically, as some writers do; the data keeps the order above.
    for name, dtype, shape, raw in sorted(tensors):
        begin = sum(len(t[3]) for t in tensors[: [t[0] for t in tensors].index(name)])
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, begin + len(raw)]}
    data = b"".join(t[3] for t in tensors)
    header["__metadata__"] = {"format": "heed", "note": "h\u00e9llo"}
    text = json.dumps(header, ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(os.path.join(OUT, "hand.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_npy_fixtures()
    write_safetensors_fixture()
    print("wrote", sorted(os.listdir(OUT)))
