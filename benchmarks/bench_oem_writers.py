"""OEM writers: mmxsim's against the CCSDS libraries that can write one, on the same 10,000 states.

Rows (each only if importable): mmxsim (``mmxsim.exports.oem``); ``ccsds-ndm`` (GPL-3.0+, xsdata
objects: built by parsing our file, then written as KVN and XML); ``ccsds-ndm-py`` (MPL-2.0, Rust;
its import name is also ``ccsds_ndm``: the top-level ``Oem`` class); ``oem`` (MIT; reads our file,
writes KVN and XML). For each: write time (best of ``--repeat``), size, how many data lines are
byte-identical to ours and whether the numbers are equal. The decision is in docs/design.md §14.

    python benchmarks/bench_oem_writers.py [--n 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from mmxsim.exports.oem import format_epochs, write_oem
from mmxsim.results import Trajectory

GM_MARS = 42828.375214  # km^3/s^2 (DE440, gm_de440.tpc); only shapes the test orbit


def _states(t):
    a, e = 9500.0, 0.05
    n = np.sqrt(GM_MARS / a**3)
    m = n * (t - t[0])
    ea = m.copy()
    for _ in range(30):
        ea -= (ea - e * np.sin(ea) - m) / (1 - e * np.cos(ea))
    c, s = np.cos(ea), np.sin(ea)
    b = a * np.sqrt(1 - e * e)
    r = np.stack([a * (c - e), b * s, 0.3 * b * s], axis=1)
    v = np.stack([-a * n * s, b * n * c, 0.3 * b * n * c], axis=1) / (1 - e * c)[:, None]
    return np.hstack([r, v])


def _best(f, repeat):
    out, best = None, float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _compare(ours: str, theirs: str) -> str:
    a = [ln for ln in ours.splitlines() if ln[:4].isdigit()]
    b = [ln for ln in theirs.splitlines() if ln[:4].isdigit()]
    same = sum(x == y for x, y in zip(a, b))
    va = np.array([[float(v) for v in ln.split()[1:7]] for ln in a])
    vb = np.array([[float(v) for v in ln.split()[1:7]] for ln in b])
    eq = va.shape == vb.shape and np.array_equal(va, vb)
    ep = [ln.split()[0] for ln in a] == [ln.split()[0] for ln in b]
    return f"{same}/{len(a)} lines identical, numbers equal: {eq}, epochs equal: {ep}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t = 872_510_400.123456 + 60.0 * np.arange(args.n)
    traj = Trajectory(t, _states(t))
    d = Path(tempfile.mkdtemp())
    dt, _ = _best(lambda: write_oem(traj, d / "ours.oem", comments=["bench"]), args.repeat)
    ours = (d / "ours.oem").read_text()
    print(f"mmxsim: {dt * 1e3:.1f} ms, {len(ours)} bytes")
    try:
        from ccsds_ndm.mapping import NDMFileFormats
        from ccsds_ndm.ndm_io import NdmIo

        io_ = NdmIo()
        t0 = time.perf_counter()
        obj = io_.from_string(ours)
        parse = time.perf_counter() - t0
        dk, kvn = _best(lambda: io_.to_string(obj, NDMFileFormats.KVN), 1)
        dx, xml = _best(lambda: io_.to_string(obj, NDMFileFormats.XML), 1)
        print(f"ccsds-ndm (GPL): KVN {dk * 1e3:.0f} ms ({len(kvn)} bytes), XML {dx * 1e3:.0f} ms, "
              f"objects by parsing {parse:.1f} s; {_compare(ours, kvn)}")
    except ImportError as exc:
        print(f"ccsds-ndm: not importable ({exc})")
    try:
        import ccsds_ndm as R

        eps = [str(e) for e in format_epochs(t)]

        def mpl():
            meta = R.OemMetadata(object_name="MMX", object_id="MMX", start_time=eps[0], stop_time=eps[-1],
                                 center_name="MARS", ref_frame="ICRF", time_system="TDB")
            oem = R.Oem(R.OdmHeader(creation_date="2026-01-01T00:00:00", originator="MMXSIM"),
                        [R.OemSegment(meta, R.OemData.from_numpy(eps, traj.states))])
            return oem.to_str("kvn")

        dm, kvn = _best(mpl, args.repeat)
        print(f"ccsds-ndm-py (MPL): KVN {dm * 1e3:.1f} ms ({len(kvn)} bytes); {_compare(ours, kvn)}")
    except (ImportError, AttributeError) as exc:
        print(f"ccsds-ndm-py: not importable ({exc})")
    try:
        from oem import OrbitEphemerisMessage

        o = OrbitEphemerisMessage.open(d / "ours.oem")
        dk, _ = _best(lambda: o.save_as(d / "mit.oem", file_format="kvn"), args.repeat)
        dx, _ = _best(lambda: o.save_as(d / "mit.xml", file_format="xml"), 1)
        print(f"oem (MIT): KVN {dk * 1e3:.0f} ms, XML {dx * 1e3:.0f} ms; "
              f"{_compare(ours, (d / 'mit.oem').read_text())}")
    except ImportError as exc:
        print(f"oem: not importable ({exc})")


if __name__ == "__main__":
    main()
