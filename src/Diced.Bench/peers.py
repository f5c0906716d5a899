#!/usr/bin/env python3
"""The peer tools of `bench peers`: the same 512^3 uint8 volume written and read through zarr-python 2 (64^3 chunks,
Blosc-lz4) and h5py (64^3 chunks) in-process, timings as JSON on stdout. Also writes the volume to a raw file, so
Diced ingests exactly the same bytes. Needs Debian's python3-numpy, python3-zarr and python3-h5py (/usr/bin/python3).

usage: peers.py WORKDIR [N]
"""
import json, os, shutil, sys, time

import numpy as np
import zarr, h5py
from numcodecs import Blosc

work, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 512
c, s = 64, 256
rng = np.random.default_rng(17)
z, y, x = np.ogrid[0:n, 0:n, 0:n]
# Smooth structure plus noise, like EM.
vol = (96 + 40 * np.sin(x / 23.0) * np.cos(y / 17.0) + 25 * np.sin(z / 11.0)).astype(np.float32)
vol += rng.normal(0, 12, size=(n, n, n)).astype(np.float32)
vol = np.clip(vol, 0, 255).astype(np.uint8)
os.makedirs(work, exist_ok=True)
raw = os.path.join(work, "volume.raw")
vol.tofile(raw)  # z, y, x order: x fastest, as DVID's raw
patch = rng.integers(0, 255, size=(s, s, s), dtype=np.uint8)
aligned, offset = (slice(0, s),) * 3, (slice(5, 5 + s), slice(33, 33 + s), slice(17, 17 + s))  # z, y, x: offset 17,33,5


def timed(f, reps=3):
    best = None
    for _ in range(reps):
        t = time.perf_counter()
        f()
        d = time.perf_counter() - t
        best = d if best is None else min(best, d)
    return best


def fsync_tree(path):
    for root, _, files in os.walk(path):
        for f in files:
            fd = os.open(os.path.join(root, f), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)


result = {"n": n, "chunk": c, "box": s, "bytes": int(vol.nbytes)}
zpath = os.path.join(work, "v.zarr")


def zarr_ingest():
    shutil.rmtree(zpath, ignore_errors=True)
    a = zarr.open(zpath, mode="w", shape=(n, n, n), chunks=(c, c, c), dtype="u1", compressor=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE))
    a[:] = vol


result["zarr"] = {"ingest": timed(zarr_ingest)}
za = zarr.open(zpath, mode="r+")
result["zarr"]["read_aligned"] = timed(lambda: za[aligned])
result["zarr"]["read_offset"] = timed(lambda: za[offset])
result["zarr"]["write_aligned"] = timed(lambda: za.__setitem__(aligned, patch))
result["zarr"]["write_offset"] = timed(lambda: za.__setitem__(offset, patch))

hpath = os.path.join(work, "v.h5")


def h5_ingest():
    with h5py.File(hpath, "w") as f:
        f.create_dataset("v", data=vol, chunks=(c, c, c))


result["h5py"] = {"ingest": timed(h5_ingest)}
with h5py.File(hpath, "r+") as f:
    d = f["v"]
    result["h5py"]["read_aligned"] = timed(lambda: d[aligned])
    result["h5py"]["read_offset"] = timed(lambda: d[offset])
    result["h5py"]["write_aligned"] = timed(lambda: d.__setitem__(aligned, patch))
    result["h5py"]["write_offset"] = timed(lambda: d.__setitem__(offset, patch))
np.ascontiguousarray(patch).tofile(os.path.join(work, "patch.raw"))
print(json.dumps(result))
