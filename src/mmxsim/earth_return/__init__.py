"""Earth return: arrival targeting, capsule entry, parachute descent and landing footprint at Woomera.

The MMX sample return capsule is JAXA's (built by Kawasaki Heavy Industries [KHI-MMX]); Australia
provides its landing and recovery in the Woomera Range Complex, South Australia, under the 2022
Japan-Australia agreement ([AUS-2022], [ASA-2023]); Earth return is planned for JFY2031 [JAXA-MMX].

* :mod:`.atmosphere` -- USSA76 (default), NRLMSIS 2 via optional ``pymsis``, exponential; winds.
* :mod:`.entry` -- 3-DOF ballistic entry over a rotating WGS84 Earth with J2, Sutton-Graves heating,
  parachute descent, Monte Carlo footprint and 99 % ellipse; Hayabusa / Hayabusa2 cases.
* :mod:`.targeting` -- B-plane aim point and arrival time that give the entry angle and the landing
  point.

High-level entry point: :func:`run_entry_analysis` (plain numbers + matplotlib Figures).
"""

from __future__ import annotations

from .atmosphere import MSIS, USSA76, ExponentialAtmosphere, WindProfile, make_atmosphere
from .entry import (WPA_NOMINAL, WOOMERA_VILLAGE, Capsule, Dispersions, EarthModel, EntryState, EntryTrajectory,
                    Footprint, fly_entries, hayabusa2_entry, hayabusa_2010_entry, monte_carlo_footprint,
                    place_entry_for_landing, simulate_entry, sutton_graves)
from .targeting import TargetingResult, b_magnitude_for_fpa, entry_state_from_bplane, target_landing

__all__ = ["MSIS", "USSA76", "ExponentialAtmosphere", "WindProfile", "make_atmosphere", "Capsule", "Dispersions",
           "EarthModel", "EntryState", "EntryTrajectory", "Footprint", "fly_entries", "hayabusa2_entry",
           "hayabusa_2010_entry",
           "monte_carlo_footprint", "place_entry_for_landing", "simulate_entry", "sutton_graves", "WPA_NOMINAL",
           "WOOMERA_VILLAGE", "TargetingResult", "b_magnitude_for_fpa", "entry_state_from_bplane", "target_landing",
           "run_entry_analysis"]


def run_entry_analysis(entry: EntryState | None = None, capsule: Capsule | None = None,
                       target_lat_deg: float | None = WPA_NOMINAL[0], target_lon_deg: float | None = WPA_NOMINAL[1],
                       n_monte_carlo: int = 100, seed: int = 0, dispersions: Dispersions | None = None,
                       atmosphere: str = "ussa76", msis_kwargs: dict | None = None,
                       winds: WindProfile | None = None) -> tuple[dict, dict]:
    """Nominal entry (moved to land on the target if one is given), profiles and Monte Carlo footprint.

    Defaults: the Hayabusa2-class capsule and entry conditions (11.58 km/s, -12 deg at 200 km,
    heading 150 deg), aimed at the WPA nominal coordinate. ``atmosphere="msis"`` uses NRLMSIS 2
    through the optional ``pymsis`` (indices in ``msis_kwargs``; nothing is downloaded).

    Returns ``(numbers, figures)``: ``numbers`` plain floats (the nominal summary and the 99 %
    ellipse), ``figures`` ``{"entry_profiles": Figure, "footprint": Figure}``.
    """
    entry = entry or hayabusa2_entry()
    capsule = capsule or Capsule()
    mk = dict(msis_kwargs or {})

    def atm(scale=1.0):
        if atmosphere == "msis":
            kw = {"lat_deg": entry.lat_deg, "lon_deg": entry.lon_deg, **mk}
            if entry.epoch_utc and "epoch_utc" not in kw:
                kw["epoch_utc"] = entry.epoch_utc
            return make_atmosphere("msis", density_scale=scale, **kw)
        return make_atmosphere(atmosphere, density_scale=scale)

    base = atm()
    cache = {}

    def factory(scale):
        if atmosphere != "msis":
            return atm(scale)
        # reuse the MSIS column (one pymsis call) and only rescale it
        if "col" not in cache:
            cache["col"] = base
        import copy

        a = copy.copy(cache["col"])
        a.density_scale = float(scale)
        return a

    if target_lat_deg is not None and target_lon_deg is not None:
        entry, nominal = place_entry_for_landing(entry, target_lat_deg, target_lon_deg, capsule, atmosphere=base,
                                                 winds=winds)
    else:
        nominal = simulate_entry(entry, capsule, base, winds)
    numbers = {k: float(v) for k, v in nominal.summary.items()}
    numbers.update({"entry_lat_deg": float(entry.lat_deg), "entry_lon_deg": float(entry.lon_deg),
                    "entry_altitude_km": float(entry.altitude_km), "ballistic_coefficient_kgm2": capsule.ballistic_coefficient})
    figures = {"entry_profiles": nominal.figure()}
    if n_monte_carlo:
        fp = monte_carlo_footprint(entry, capsule, n=n_monte_carlo, seed=seed, dispersions=dispersions,
                                   atmosphere_factory=factory)
        numbers.update({"footprint_center_lat_deg": fp.center_lat_deg, "footprint_center_lon_deg": fp.center_lon_deg,
                        "footprint_semi_major_km": fp.semi_major_km, "footprint_semi_minor_km": fp.semi_minor_km,
                        "footprint_orientation_deg": fp.orientation_deg, "footprint_probability": fp.probability,
                        "footprint_fraction_inside": fp.fraction_inside,
                        "mc_peak_decel_g_max": float(fp.peak_decel_g.max()),
                        "mc_peak_heat_flux_MWm2_max": float(fp.peak_heat_flux_MWm2.max())})
        figures["footprint"] = fp.figure(nominal)
    return numbers, figures
