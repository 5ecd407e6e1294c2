"""``mmxsim run``'s cheap exit (mmxsim.cli._quick_exit): one exit handler that freezes the objects
still alive, registered once however many runs a process makes."""

from __future__ import annotations

import gc

from mmxsim import cli


def test_quick_exit_registers_gc_freeze_once(monkeypatch):
    registered = []
    monkeypatch.setattr("atexit.register", lambda fn, *a, **k: registered.append(fn))
    monkeypatch.setattr(cli, "_EXIT_FREEZE", [])
    cli._quick_exit()
    cli._quick_exit()
    assert registered == [gc.freeze]
