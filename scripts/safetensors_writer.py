# The safetensors writer shared by the fixture scripts (Python has no safetensors package here):
# 8-byte little-endian header length, JSON header, then the raw little-endian bytes.
import json
import os
import struct

import numpy as np

DTYPES = {np.dtype("float64"): "F64", np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("uint8"): "U8"}


def write_safetensors(path, tensors, metadata):
    header, blobs, at = {"__metadata__": metadata}, [], 0
    for name, a in tensors:
        if hasattr(a, "detach"):  # a torch tensor
            a = a.detach().contiguous().numpy()
        if a.dtype == np.bool_:  # stored as U8 0/1, as heed reads bools
            a = a.astype(np.uint8)
        data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # pad so the data starts 8-aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)

