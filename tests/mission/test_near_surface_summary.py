"""The run's assumptions say when Phobos' gravity switched to the near-surface field."""

from types import SimpleNamespace

from mmxsim.mission.runner import assumptions, build_model, switch_lines
from mmxsim.scenario import reference_scenario


def test_switch_line_only_when_a_near_surface_arc_was_flown():
    sh = "spherical harmonics degree 8 (heyoka; beyond 22 km of Phobos' centre)"
    ns = "near-surface: polyhedron (DOP853; within 22 km of Phobos' centre)"
    assert switch_lines(SimpleNamespace(arcs=[(0.0, 86400.0, sh)])) == []
    line = switch_lines(SimpleNamespace(arcs=[(0.0, 3600.0, sh), (3600.0, 10800.0, ns), (10800.0, 86400.0, sh)]))
    assert len(line) == 1 and "1 arc(s), 2.00 h" in line[0] and "polyhedron" in line[0]


def test_assumptions_state_the_switch_radius():
    s = reference_scenario()
    model, _ = build_model(s)
    text = " ".join(assumptions(s, model))
    assert "beyond 22 km" in text and "4.3e-04" in text and "polyhedron" in text
