"""Figures and numbers for docs/mirs.md: MIRS along one period of a 30-km planar QSO on the Thomas 3.5k mesh.

Run: PYTHONPATH=src python docs/figures/mirs_figures.py docs/figures  (writes mirs_*.png, mirs_summary.json, mirs_reference.json)
"""
import json, sys, time
import numpy as np
from mmxsim.bodies import AU_KM, PHOBOS_MEAN_MOTION as N
from mmxsim.bodies.shapes import phobos_shape
from mmxsim.orbits.qso import periodic_qso, sample_orbit
from mmxsim.instruments import mirs as m

out = sys.argv[1]
q = periodic_qso(30.0, degree=0)
n = int(q.period_s // 60) + 1
hill = sample_orbit(q, n_points=n)[:, :3]
t = np.linspace(0.0, q.period_s, n)
sc = hill * np.array([-1.0, -1.0, 1.0])  # Hill -> IAU_PHOBOS body axes (docs/qso.md)
# Sun: fixed inertially, so it turns at -n in the synchronously rotating frame; subsolar latitude 10 deg
ph = -N * t + np.radians(30.0)
dec = np.radians(10.0)
sun = 1.52 * AU_KM * np.c_[np.cos(dec) * np.cos(ph), np.cos(dec) * np.sin(ph), np.full(n, np.sin(dec))]
shape = phobos_shape("thomas3k")
t0 = time.time()
res = m.mirs_along(shape, t, sc, sun, surface="phobos_hydrated", spectra_at=None,
                   occlusion=False, resolution_thresholds_m=(10.0, 20.0, 50.0),
                   bands=(m.Band(2.7, 0.3, 0.1, "hydration 2.7 um"), m.Band(3.4, 0.1, 0.05, "organics 3.4 um"),
                          m.Band(1.0, 0.25, 0.1, "mafic 1 um")))
el = time.time() - t0
s = res.summary()
s["n_epochs"] = n
s["qso"] = dict(size_km=q.size_km, period_s=q.period_s, radial=q.radial_semi_axis_km, along=q.along_track_semi_axis_km)
s["elapsed_s"] = el
json.dump(s, open(f"{out}/mirs_summary.json", "w"), indent=1, default=float)
for k, f in res.figures().items():
    f.savefig(f"{out}/mirs_{k}.png", dpi=110, bbox_inches="tight")
# reference-scene numbers
sp, sn = m.reference_snr(2.0)
lam = sn.wavelength_um
j = lambda x: int(np.argmin(np.abs(lam - x)))
ref = {f"{x}": dict(snr_reflected=float(sn.snr_reflected[j(x)]), snr_total=float(sn.snr[j(x)]),
                    thermal_fraction=float(sp.thermal_fraction[j(x)]), iof=float(sp.iof[j(x)]),
                    e_reflected=float(sn.signal_reflected_e[j(x)]), e_thermal=float(sn.signal_thermal_e[j(x)]),
                    noise=float(sn.noise_e[j(x)]))
       for x in (0.9, 1.0, 1.5, 2.0, 2.5, 2.7, 3.0, 3.2, 3.3, 3.4, 3.5, 3.6)}
ref["T_K"] = float(sp.temperature_K)
ref["bond"] = m.SURFACES["phobos"].bond()
ref["snr_drops_below_100_at_um"] = float(lam[np.argmax(sn.snr_reflected < 100)])
ref["snr_3p2_vs_t"] = {t_: float(m.snr_spectrum(sp, t_).snr_reflected[j(3.2)]) for t_ in (0.25, 0.5, 1.0, 2.0, 4.0)}
ref["det_2p7"] = m.band_detectability(lam, sn.snr_reflected, 2.7, 0.3)
ref["det_3p4"] = m.band_detectability(lam, sn.snr_reflected, 3.4, 0.1)
ref["det_1p0"] = m.band_detectability(lam, sn.snr_reflected, 1.0, 0.25)
json.dump(ref, open(f"{out}/mirs_reference.json", "w"), indent=1, default=float)
print(json.dumps(s, indent=1, default=float)); print(json.dumps(ref, indent=1, default=float))
