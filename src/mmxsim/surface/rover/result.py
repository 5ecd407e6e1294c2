"""IDEFIX rover deployment: the result of an ensemble of deployments (outcomes, summary, figures)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...errors import InputError
from .model import SETTLED, STATUS_NAMES, Settings
from .terrain import Terrain


@dataclass
class DeploymentResult:
    """Outcomes of one or more deployments (arrays over deployments; local frame, m, s)."""

    status: np.ndarray
    t_first_impact_s: np.ndarray
    v_first_impact_m_s: np.ndarray  # centre-of-mass speed relative to the surface at first contact
    vn_first_impact_m_s: np.ndarray  # its component into the base surface
    impacts: np.ndarray
    settle_time_s: np.ndarray  # from release; NaN if not settled
    rest_position_m: np.ndarray  # (N, 3) centre of mass
    rest_quaternion: np.ndarray  # (N, 4) body -> local
    first_contact_s: np.ndarray  # duration of the first contact interval
    rebound_speed_m_s: np.ndarray  # speed when the first contact ends
    rebound_normal_m_s: np.ndarray
    max_hop_m: np.ndarray  # highest centre height above standing height after the first impact
    steps: np.ndarray
    max_penetration_m: np.ndarray
    t_end_s: np.ndarray
    restitution: np.ndarray
    friction: np.ndarray
    rest_slope_deg: np.ndarray  # footprint plane vs local effective gravity
    rest_roughness_m: np.ndarray  # peak-to-valley under the rover footprint
    upright_deg: np.ndarray  # angle between rover +z and the local up
    safe: np.ndarray
    terrain: Terrain
    settings: Settings
    tracks: np.ndarray | None = None  # (m, steps, 8): t, p, q of the first m deployments
    release_altitude_m: np.ndarray | None = None
    site_facet_slope_deg: float = float("nan")
    seed: int | None = None
    _map: object = field(default=None, repr=False)

    @property
    def settled(self) -> np.ndarray:
        return self.status == SETTLED

    def ellipse(self, k: float = 1.0):
        """(semi-major m, semi-minor m, angle from east toward north rad) of the k-sigma ellipse of
        the settled rest points (same convention as :meth:`mmxsim.surface.landing.Dispersion.ellipse`)."""
        P = self.rest_position_m[self.settled, :2]
        if len(P) < 3:
            return float("nan"), float("nan"), float("nan")
        w, V = np.linalg.eigh(np.cov(P.T))
        return k * math.sqrt(max(w[1], 0.0)), k * math.sqrt(max(w[0], 0.0)), math.atan2(V[1, 1], V[0, 1])

    def summary(self) -> dict:
        """Plain numbers: fractions, medians and percentiles of the outcomes."""
        ok = self.settled
        a1, b1, th = self.ellipse(1.0)
        ts = self.settle_time_s[ok]
        c = self.rest_position_m[ok, :2]

        def pct(x, q):
            return float(np.percentile(x, q)) if len(x) else float("nan")

        return {
            "n": int(len(self.status)), "settled_fraction": float(ok.mean()),
            "status_counts": {STATUS_NAMES[k]: int(np.sum(self.status == k)) for k in STATUS_NAMES},
            "t_first_impact_median_s": float(np.median(self.t_first_impact_s)),
            "v_first_impact_median_m_s": float(np.median(self.v_first_impact_m_s)),
            "v_first_impact_p5_p95_m_s": (pct(self.v_first_impact_m_s, 5), pct(self.v_first_impact_m_s, 95)),
            "impacts_median": float(np.median(self.impacts)), "impacts_max": int(np.max(self.impacts)),
            "settle_time_median_s": pct(ts, 50), "settle_time_p5_p95_s": (pct(ts, 5), pct(ts, 95)),
            "max_hop_median_m": float(np.median(self.max_hop_m)),
            "rest_mean_east_north_m": (float(c[:, 0].mean()), float(c[:, 1].mean())) if len(c) else (np.nan,) * 2,
            "ellipse_1sigma_m": (a1, b1, math.degrees(th)),
            "rest_distance_median_m": pct(np.hypot(c[:, 0], c[:, 1]), 50),
            "safe_fraction": float(self.safe[ok].mean()) if ok.any() else float("nan"),
            "upright_fraction": float(np.mean(self.upright_deg[ok] < 45.0)) if ok.any() else float("nan"),
            "site_facet_slope_deg": self.site_facet_slope_deg,
        }

    def summary_text(self) -> str:
        s = self.summary()
        a1, b1, th = s["ellipse_1sigma_m"]
        return (f"{s['n']} deployments, {100 * s['settled_fraction']:.1f}% settled; first impact after "
                f"{s['t_first_impact_median_s']:.0f} s at {s['v_first_impact_median_m_s']:.3f} m/s (median); "
                f"impacts median {s['impacts_median']:.0f} (max {s['impacts_max']}); settling time median "
                f"{s['settle_time_median_s']:.0f} s (5-95%: {s['settle_time_p5_p95_s'][0]:.0f}-"
                f"{s['settle_time_p5_p95_s'][1]:.0f} s); rest 1-sigma ellipse {a1:.1f} x {b1:.1f} m at {th:.0f} deg "
                f"from east; safe {100 * s['safe_fraction']:.0f}%, wheels-up-ish (>45 deg) "
                f"{100 * (1 - s['upright_fraction']):.0f}%")

    # -- figures ---------------------------------------------------------------------------------
    def plot_trajectory(self, k: int = 0):
        """Figure: height above the base surface vs time and ground track of recorded deployment k."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if self.tracks is None or k >= len(self.tracks):
            last = 0 if self.tracks is None else len(self.tracks) - 1
            raise InputError("trajectory index", k, f"a recorded deployment 0..{last}")
        tr = self.tracks[k]
        m = np.nonzero(tr[:, 0] > 0)[0]
        tr = tr[: (m[-1] + 1 if len(m) else 1)]
        t, p = tr[:, 0], tr[:, 1:4]
        h = p[:, 2] - self.terrain.base_height(p[:, 0], p[:, 1])
        fig = Figure(figsize=(11, 4.2))
        FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
        a1, a2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        a1.plot(t, h, lw=1)
        t1 = self.t_first_impact_s[k]
        a1.set_yscale("symlog", linthresh=1.0)
        a1.axvline(t1, color="tab:red", lw=0.8, ls="--", label=f"first impact {t1:.0f} s")
        if np.isfinite(self.settle_time_s[k]):
            a1.axvline(self.settle_time_s[k], color="tab:green", lw=0.8, ls="--",
                       label=f"settled {self.settle_time_s[k]:.0f} s")
        a1.set_xlabel("time since release (s)")
        a1.set_ylabel("centre height above base surface (m)")
        a1.set_title(f"IDEFIX deployment {k}: {int(self.impacts[k])} impacts, e={self.restitution[k]:.2f}, "
                     f"mu={self.friction[k]:.2f}", fontsize=9)
        a1.legend(fontsize=8)
        sel = t >= (t1 - 1.0)
        a2.plot(p[sel, 0], p[sel, 1], lw=1)
        a2.plot(p[0, 0], p[0, 1], "k+", label="release")
        a2.plot(p[-1, 0], p[-1, 1], "o", color="tab:green", label="rest")
        a2.set_xlabel("east (m)")
        a2.set_ylabel("north (m)")
        a2.set_aspect("equal", adjustable="datalim")
        a2.set_title("ground track after first impact", fontsize=9)
        a2.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def plot_dispersion(self, sigmas=(1, 2, 3)):
        """Figure: rest points over the local relief with k-sigma ellipses (and the site's facet slope)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        ok = self.settled
        P = self.rest_position_m
        ext = max(5.0, float(np.max(np.abs(P[:, :2]))) * 1.1 if len(P) else 5.0)
        u = np.linspace(-ext, ext, 400)
        X, Y = np.meshgrid(u, u, indexing="ij")
        Z = self.terrain.height(X, Y) - self.terrain.base_height(X, Y)
        fig = Figure(figsize=(7.2, 6))
        FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
        ax = fig.subplots()
        im = ax.imshow(Z.T, origin="lower", extent=(-ext, ext, -ext, ext), cmap="gray")
        fig.colorbar(im, ax=ax, label="relief above the fitted shape-model surface (m)")
        sf = ok & self.safe
        ax.plot(P[sf, 0], P[sf, 1], ".", ms=3, color="tab:green", label="settled, safe")
        ax.plot(P[ok & ~self.safe, 0], P[ok & ~self.safe, 1], ".", ms=3, color="tab:orange",
                label="settled, unsafe (slope/roughness)")
        if (~ok).any():
            ax.plot(P[~ok, 0], P[~ok, 1], "x", ms=4, color="tab:red", label="not settled")
        ax.plot([0], [0], "+", color="cyan", ms=12, label="release point (nadir)")
        if ok.sum() >= 3:
            mu = P[ok, :2].mean(axis=0)
            t = np.linspace(0, 2 * np.pi, 200)
            for k in sigmas:
                a, b, th = self.ellipse(k)
                ax.plot(mu[0] + a * np.cos(t) * math.cos(th) - b * np.sin(t) * math.sin(th),
                        mu[1] + a * np.cos(t) * math.sin(th) + b * np.sin(t) * math.cos(th), lw=1,
                        color={1: "tab:blue", 2: "magenta", 3: "yellow"}.get(k, "w"), label=f"{k}-sigma ellipse")
        where = "" if not np.isfinite(self.terrain.lat_deg) else \
            f" at lat {self.terrain.lat_deg:.1f}, lon {self.terrain.lon_deg:.1f} deg E"
        fs = "" if not np.isfinite(self.site_facet_slope_deg) else f"; facet slope {self.site_facet_slope_deg:.1f} deg"
        ax.set_title(f"IDEFIX rest points{where}{fs}", fontsize=9)
        ax.set_xlabel("east (m)")
        ax.set_ylabel("north (m)")
        ax.legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        return fig

    def plot_settling(self):
        """Figure: histograms of settling time and number of impacts."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 3.8))
        FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
        a1, a2 = fig.subplots(1, 2)
        ts = self.settle_time_s[self.settled]
        a1.hist(ts, bins=40, color="tab:blue")
        a1.set_xlabel("settling time since release (s)")
        a1.set_ylabel("deployments")
        if len(ts):
            a1.axvline(np.median(ts), color="k", ls="--", lw=0.8, label=f"median {np.median(ts):.0f} s")
            a1.legend(fontsize=8)
        imp = self.impacts.astype(int)
        a2.hist(imp, bins=np.arange(imp.min() - 0.5, imp.max() + 1.5), color="tab:orange")
        a2.set_xlabel("impacts (first included)")
        fig.tight_layout()
        return fig

    def plot_site_map(self):
        """Figure: the site on the Phobos slope map (facets of the gravity grid's mesh, 'hill'
        model of :mod:`mmxsim.surface.maps`); the rest points lie within ~0.5 deg of it."""
        from matplotlib.figure import Figure

        from ..maps import plot_map

        if self._map is None:
            raise InputError("site map", "no shape-model site", "a Monte Carlo on a site_terrain with gravity='grid'")
        fig = Figure(figsize=(10, 5.2))
        ax = fig.subplots()
        plot_map(self._map, "slope", ax=ax, points=([self.terrain.lat_deg], [self.terrain.lon_deg]),
                 points_label="IDEFIX release site (ASSUMPTION)",
                 title=f"IDEFIX site on the Phobos slope map ({self._map.shape_name}); "
                       f"{100 * float(np.mean(self.settled)):.0f}% settled, safe "
                       f"{100 * float(np.mean(self.safe[self.settled])) if self.settled.any() else float('nan'):.0f}%")
        return fig

    def figures(self) -> dict:
        """{'trajectory', 'dispersion', 'settling'[, 'site_map']}: matplotlib Figures (no pyplot)."""
        out = {"dispersion": self.plot_dispersion(), "settling": self.plot_settling()}
        if self._map is not None:
            out["site_map"] = self.plot_site_map()
        if self.tracks is not None and len(self.tracks):
            out["trajectory"] = self.plot_trajectory(0)
        return out
