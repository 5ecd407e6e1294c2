"""analyses.od.navigation_error is computed once per process for what determines it (qso_campaign and
transfer both ask for it): a second call with the same scenario and trajectory returns the first result
without computing; another trajectory, or no trajectory at all, computes again."""

import numpy as np

from mmxsim.analyses import od


def test_navigation_error_is_cached_by_what_determines_it(monkeypatch):
    from mmxsim.scenario import reference_scenario

    calls = []

    def fake(cfg, scenario, ctx):
        calls.append(cfg.mode)
        return (float(len(calls)), 2.0, "fake")

    monkeypatch.setattr(od, "_navigation_error", fake)
    monkeypatch.setattr(od, "_NAV_ERROR", {})
    s = reference_scenario()
    t = np.linspace(0.0, 10.0, 11)
    ctx = {"t": t, "states": np.ones((11, 6)), "eph": None}
    a = od.navigation_error(s, ctx)
    b = od.navigation_error(s, dict(ctx))
    assert a == b == (1.0, 2.0, "fake") and calls == ["covariance"]
    c = od.navigation_error(s, {**ctx, "states": np.full((11, 6), 2.0)})  # another trajectory
    assert c[0] == 2.0 and len(calls) == 2
    od.navigation_error(s, None)  # nothing to key on: computed each time
    od.navigation_error(s, None)
    assert len(calls) == 4
    assert isinstance(a, tuple)  # immutable: no caller can change what the next one gets
