"""SPICE backend (spiceypy): the user's own SPK / PCK / LSK kernels.

* States: ``spkezr(target, et, 'J2000', 'NONE', center)`` -- 'J2000' is SPICE's name for
  the ICRF axes; geometric states, no aberration.  TDB seconds past J2000 are SPICE's
  ephemeris time ``et``.  (spiceypy loops over epochs in its C wrapper call; SPICE itself
  is scalar.)
* The body tree comes from the segment descriptors of this backend's SPK files (a body's
  parent is the centre of its widest segment), so this backend can be chained with others
  in :func:`mmxsim.ephemeris.composite`.
* Coverage: the hull of the body's segments in those files (equivalent to ``spkcov``'s
  window hull); an epoch in a gap of the window raises
  :class:`~mmxsim.errors.CoverageError` too, from SPICE's own error.
* Orientation: :meth:`SpiceEphemeris.orientation` gives ICRF -> IAU_<body> rotation and its
  time derivative from ``sxform``, so a user-supplied PCK can drive body orientation.

spiceypy is imported lazily (inside functions) so ``import mmxsim.ephemeris`` stays light.
SPICE's kernel pool is process-global: kernels loaded here stay loaded for every other
SPICE user in the process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import CoverageError, DataFileError, InputError
from ._base import ID_TO_NAME, NAME_TO_ID, TreeEphemeris, as_epochs, body_name, coverage_error, iso_tdb

_LOADED: set[str] = set()


def _sp():
    import spiceypy

    return spiceypy


def _furnsh(path: Path) -> None:
    sp = _sp()
    key = str(path.resolve())
    if key in _LOADED:
        return
    try:
        sp.furnsh(key)
    except sp.utils.exceptions.SpiceyError as exc:
        raise DataFileError(f"SPICE could not load kernel {path}: {exc.short or exc}") from None
    _LOADED.add(key)


def _kernel_kind(path: Path) -> str:
    """SPK, PCK-binary, PCK, LSK, FK, ... of a kernel file, or DataFileError if SPICE cannot use it.

    Read from the file's ID word (``getfat``); a text file without one counts as a text kernel only
    if it has a ``\\begindata`` block (anything else -- a README, /etc/passwd -- would load as an
    empty kernel and silently provide nothing)."""
    sp = _sp()
    try:
        arch, kind = (x.strip().upper() for x in sp.getfat(str(path)))
    except sp.utils.exceptions.SpiceyError as exc:
        raise DataFileError(f"{path} is not a SPICE kernel mmxsim can use (SPICE cannot read its type: "
                            f"{exc.short or exc})") from None
    if arch == "DAF" and kind in ("SPK", "PCK"):
        return "SPK" if kind == "SPK" else "PCK-binary"
    if arch == "KPL" and kind == "MK":
        raise DataFileError(f"SPICE kernel {path} is a meta-kernel: list the kernels it loads instead "
                            "(mmxsim reads each file to know what it provides)")
    if arch == "KPL":
        return kind
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if arch == "?" and b"\\begindata" in head:
        return "TEXT"
    raise DataFileError(
        f"{path} is not a SPICE kernel mmxsim can use (SPICE reads its type as architecture {arch!r}, "
        f"type {kind!r}); allowed: SPK (.bsp), PCK (.tpc, .bpc), LSK (.tls) and other NAIF kernels")


def _name_of(naif_id: int) -> str:
    if naif_id in ID_TO_NAME:
        return ID_TO_NAME[naif_id]
    try:
        nm = _sp().bodc2n(naif_id)
    except Exception:
        nm = None
    return (nm or str(naif_id)).strip().upper().replace(" ", "_")


class SpiceEphemeris(TreeEphemeris):
    """Ephemeris from SPICE kernels loaded with spiceypy."""

    def __init__(self, kernels, name: str | None = None):
        if isinstance(kernels, (str, Path)):
            kernels = [kernels]
        paths = [Path(k).expanduser() for k in kernels]
        if not paths:
            raise InputError("kernels", kernels, "a list of SPICE kernel paths (SPK .bsp, PCK .tpc/.bpc, LSK .tls)")
        for p in paths:
            if not p.is_file():
                raise DataFileError(f"SPICE kernel not found: {p}")
        kinds = [_kernel_kind(p) for p in paths]  # before loading: junk never reaches SPICE's pool
        for p in paths:
            _furnsh(p)
        self.kernels = tuple(paths)
        self.name = name or "SPICE(" + ", ".join(p.name for p in paths) + ")"
        self.source = "SPICE kernels " + ", ".join(p.name for p in paths)
        self._scan()
        self.contents = tuple(self._describe(p, k) for p, k in zip(paths, kinds))
        if not any(useful for _p, _k, _what, useful in self.contents):
            raise DataFileError(
                "the SPICE kernels given provide no ephemeris (SPK segments) and no body orientation (PCK): "
                + "; ".join(f"{p}: {what}" for p, _k, what, _u in self.contents))

    def _describe(self, path: Path, kind: str) -> tuple[Path, str, str, bool]:
        """(path, kind, what it provides, whether mmxsim uses any of it) of one loaded kernel."""
        if kind == "SPK":
            bodies = sorted(_name_of(b) for b in self._file_bodies.get(str(path), ()))
            if not bodies:
                raise DataFileError(f"SPICE kernel {path} is an SPK with no segments: it places no body")
            return path, kind, "SPK: states of " + ", ".join(bodies), True
        if kind == "PCK-binary":
            return path, "PCK", "binary PCK (body orientation)", True
        if kind in ("PCK", "TEXT"):
            from ..bodies.pck import read_text_kernel

            k = read_text_kernel(str(path))
            poles = sorted(_name_of(int(v[4:-8])) for v in k if v.startswith("BODY") and v.endswith("_POLE_RA")
                           and v[4:-8].lstrip("-").isdigit())
            if poles:
                return path, "PCK", "text PCK: orientation of " + ", ".join(poles), True
            names = ", ".join(sorted(k)[:6]) + (" ..." if len(k) > 6 else "")
            return path, kind, f"text kernel without orientation data (variables: {names or 'none'}; not used)", False
        what = {"LSK": "leap seconds (not used: mmxsim takes time scales from ERFA via astropy)",
                "FK": "frame definitions (not used)", "SCLK": "spacecraft clock (not used)",
                "IK": "instrument parameters (not used)"}.get(kind, f"{kind} kernel (not used)")
        return path, kind, what, False

    # -- tree from the loaded SPKs -------------------------------------------------
    def _scan(self) -> None:
        """Coverage and parent (centre) of every body in *this* backend's SPK files, read
        from their segment descriptors.  Coverage is the hull of the body's segments; the
        parent is the centre of its segment of widest coverage (later segments win ties, as
        in SPICE's priority order).  States are still served by SPICE from the whole pool."""
        sp = _sp()
        spans: dict[int, list[float]] = {}
        best: dict[int, tuple[float, int]] = {}
        self._file_bodies: dict[str, set[int]] = {}
        for path in self.kernels:
            arch, kind = sp.getfat(str(path))
            if kind.strip().upper() != "SPK":
                continue
            handle = sp.dafopr(str(path))
            mine = self._file_bodies.setdefault(str(path), set())
            try:
                sp.dafbfs(handle)
                while sp.daffna():
                    dc, ic = sp.dafus(sp.dafgs(), 2, 6)
                    body, center = int(ic[0]), int(ic[1])
                    mine.add(body)
                    a, b = float(dc[0]), float(dc[1])
                    lo_hi = spans.setdefault(body, [a, b])
                    lo_hi[0], lo_hi[1] = min(lo_hi[0], a), max(lo_hi[1], b)
                    if b - a >= best.get(body, (-1.0, 0))[0]:
                        best[body] = (b - a, center)
            finally:
                sp.dafcls(handle)
        self._cov_ids = {k: (v[0], v[1]) for k, v in spans.items()}
        self._parent_ids = {k: c for k, (_w, c) in best.items()}
        self._ids = {_name_of(i): i for i in set(self._cov_ids) | set(self._parent_ids.values())}
        self._names = {i: n for n, i in self._ids.items()}

    def _known(self) -> set[str]:
        return set(self._ids)

    def source_of(self, body: str) -> str:
        """The SPK file(s) of this backend with segments for ``body`` (SPICE serves the last loaded)."""
        i = self._ids[body]
        files = [p.name for p in self.kernels if i in self._file_bodies.get(str(p), ())]
        return "SPICE kernel " + ", ".join(files) if files else self.source

    def _link(self, body: str):
        i = self._ids.get(body)
        if i is None or i not in self._parent_ids:
            return None
        return self._names[self._parent_ids[i]], self

    def _segment_coverage(self, body: str) -> tuple[float, float]:
        return self._cov_ids[self._ids[body]]

    def _segment(self, body: str, t: np.ndarray) -> np.ndarray:
        i = self._ids[body]
        return self._spkezr(body, i, self._parent_ids[i], t)

    def _spkezr(self, label: str, target: int, center: int, t: np.ndarray) -> np.ndarray:
        sp = _sp()
        try:
            states, _lt = sp.spkezr(str(target), t, "J2000", "NONE", str(center))
        except sp.utils.exceptions.SpiceyError as exc:
            if "SPKINSUFFDATA" in (exc.short or "") or "INSUFFICIENT" in str(exc).upper():
                raise self._gap_error(label, t) from None
            raise DataFileError(f"SPICE failed for {label}: {exc.short or exc}") from None
        return np.asarray(states, dtype=float).reshape(-1, 6)

    def _gap_error(self, label: str, t: np.ndarray) -> CoverageError:
        sp = _sp()
        i = self._ids[label]
        span = self._cov_ids[i]
        for tk in t:  # find the first epoch SPICE cannot serve (error path only)
            try:
                sp.spkezr(str(i), float(tk), "J2000", "NONE", str(self._parent_ids[i]))
            except sp.utils.exceptions.SpiceyError:
                return CoverageError(label, iso_tdb(tk), (iso_tdb(span[0]), iso_tdb(span[1])),
                                     self.source + " (the epoch falls in a gap of the SPK coverage)")
        return coverage_error(label, t, span, self.source)

    # -- orientation -----------------------------------------------------------------
    def orientation(self, body: str, t) -> tuple[np.ndarray, np.ndarray]:
        """ICRF -> IAU_<body> rotation ``R`` and its derivative ``dR/dt`` [1/s] from the loaded PCK.

        Shapes (3, 3) each, or (N, 3, 3) for N epochs.
        """
        sp = _sp()
        name = body_name(body, None, "body") if not isinstance(body, str) else body.strip().upper()
        frame = f"IAU_{name}"
        tt, scalar = as_epochs(t)
        try:
            x = sp.sxform("J2000", frame, tt)
        except sp.utils.exceptions.SpiceyError as exc:
            raise InputError(
                "body", body,
                f"a body whose IAU_<body> frame and orientation constants are in the loaded kernels "
                f"(SPICE: {exc.short or exc}); load a PCK such as pck00011.tpc",
            ) from None
        x = np.asarray(x, dtype=float).reshape(-1, 6, 6)
        R, dR = x[:, :3, :3], x[:, 3:, :3]
        return (R[0], dR[0]) if scalar else (R, dR)


__all__ = ["SpiceEphemeris", "NAME_TO_ID"]
