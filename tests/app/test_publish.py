"""Published outputs (mmxsim.publish): complete or untouched, one writer, clear errors (issue 15)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmxsim.errors import OutputError
from mmxsim.publish import output_lock, publish, verify


def _writer(text: str, fail=None):
    def write(stage: Path):
        (stage / "a.txt").write_text(text)
        (stage / "summary.json").write_text(json.dumps({"schema": "mmxsim.summary/1", "x": text}))
        if fail is not None:
            raise fail
        (stage / "b.txt").write_text(text * 2)
        return {"a": stage / "a.txt", "b": stage / "b.txt", "summary": stage / "summary.json"}
    return write


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_publish_seals_and_verify_catches_a_changed_file(tmp_path):
    out = tmp_path / "out"
    paths = publish(out, _writer("one"))
    assert paths["a"] == out.absolute() / "a.txt" and verify(out) == []
    man = json.loads((out / "summary.json").read_text())["outputs"]
    assert man["complete"] is True and set(man["files"]) == {"a.txt", "b.txt"}
    (out / "b.txt").write_text("tampered")
    assert verify(out) == ["b.txt: changed (size or SHA-256 differs from the manifest)"]
    (out / "a.txt").unlink()
    assert "a.txt: missing" in verify(out)


@pytest.mark.parametrize("fail", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device"),
                                  RuntimeError("a model failed")])
def test_a_failure_while_writing_leaves_the_previous_run(tmp_path, fail):
    out = tmp_path / "out"
    publish(out, _writer("one"))
    before = _snapshot(out)
    with pytest.raises((KeyboardInterrupt, OutputError, RuntimeError)) as info:
        publish(out, _writer("two", fail=fail))
    if isinstance(fail, OSError):
        assert info.type is OutputError and "the disk is full" in str(info.value)
    assert _snapshot(out) == before and verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]  # no staging left


def test_a_failure_on_a_new_folder_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        publish(tmp_path / "new", _writer("x", fail=KeyboardInterrupt()))
    assert not (tmp_path / "new").exists()


def test_a_second_writer_is_refused(tmp_path):
    out = tmp_path / "out"
    with output_lock(out.absolute()):
        with pytest.raises(OutputError, match=f"another mmxsim run \\(process {os.getpid()}\\)"):
            publish(out, _writer("two"))
    publish(out, _writer("two"))  # released
    assert verify(out) == []


def test_bad_output_folders_are_clear_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        publish(tmp_path / "file", _writer("x"))
    with pytest.raises(OutputError, match="parent .* is a file"):
        publish(tmp_path / "file" / "sub", _writer("x"))
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(OutputError, match="symbolic link"):
        publish(tmp_path / "link", _writer("x"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="not an mmxsim run's"):
        publish(tmp_path / "home", _writer("x"))
    assert (tmp_path / "home" / "thesis.tex").read_text() == "precious"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent_is_a_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            publish(ro / "out", _writer("x"))
    finally:
        ro.chmod(0o755)


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "mmxsim.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_cli_out_errors_exit_2(tmp_path):
    (tmp_path / "f").write_text("x")
    p = _cli("run", "reference_qso", "-q", "--out", str(tmp_path / "f"))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "is a file" in err and "Traceback" not in err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_interrupted_keeps_the_previous_run(tmp_path, sig, code):
    """A run killed while it computes: exit 130/143 with a message, --out still the previous run."""
    out = tmp_path / "out"
    publish(out, _writer("previous"))
    before = _snapshot(out)
    p = _cli("run", "reference_qso", "-q", "--out", str(out))
    # the run announces its scenario once the signal handlers are in place, seconds before the outputs
    for _ in range(50):
        if "running the built-in" in p.stderr.readline():
            break
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == code, err
    assert "interrupted; nothing was written" in err and "Traceback" not in err
    assert _snapshot(out) == before and verify(out) == []
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".staging")]


def test_cli_exit_1_when_the_integration_failed(monkeypatch, tmp_path):
    """A run whose integration stopped on a non-finite state is not a success (it exited 0)."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    import mmxsim.app
    from mmxsim.cli import app

    failed = SimpleNamespace(termination="non-finite state (integration failed)")
    monkeypatch.setattr(mmxsim.app, "run_scenario_file", lambda *a, **k: (failed, {}))
    r = CliRunner().invoke(app, ["run", "reference_qso", "-q", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "the integration failed" in r.output
    ok = SimpleNamespace(termination="span completed")
    monkeypatch.setattr(mmxsim.app, "run_scenario_file", lambda *a, **k: (ok, {}))
    assert CliRunner().invoke(app, ["run", "reference_qso", "-q", "--out", str(tmp_path / "o")]).exit_code == 0


def test_no_dubious_year_warning_reaches_users():
    """Issue 15: ERFA's 'dubious year' (a UTC date past the leap-second table, i.e. every plan date)
    reached users. In a fresh interpreter that shows warnings, importing mmxsim.time filters that
    message for the process: the conversions that used to warn (inside mmxsim's own catch_warnings
    blocks first, then outside them, then astropy itself) stay silent."""
    code = ("import warnings; warnings.simplefilter('default'); "
            "from mmxsim.time import Epoch, iso_utc, tdb_seconds; "
            "tdb_seconds('2040-01-01T00:00:00', 'utc'); t = Epoch('2040-01-02T00:00:00', 'utc').tdb; "
            "iso_utc([float(t)]); from astropy.time import Time; Time('2041-01-01', scale='utc').tdb")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "dubious" not in r.stderr
    bare = subprocess.run([sys.executable, "-c", "import warnings; warnings.simplefilter('default'); "
                           "from astropy.time import Time; Time('2041-01-01', scale='utc').tdb"],
                          capture_output=True, text=True, timeout=120)
    assert "dubious year" in bare.stderr  # the check can fail: astropy alone still warns


def test_sigkill_while_writing_leaves_the_previous_run_and_the_next_writer_cleans_up(tmp_path):
    """A writer killed outright (no cleanup runs) mid-write: --out is still the previous complete run;
    the next publish removes the orphaned staging folder."""
    out = tmp_path / "out"
    publish(out, _writer("previous"))
    before = _snapshot(out)
    code = ("import sys, time; from pathlib import Path; from mmxsim.publish import publish\n"
            "def w(stage):\n"
            "    (stage / 'a.txt').write_text('half'); Path(sys.argv[2]).write_text('go'); time.sleep(60)\n"
            "publish(sys.argv[1], w)\n")
    flag = tmp_path / "writing"
    p = subprocess.Popen([sys.executable, "-c", code, str(out), str(flag)])
    for _ in range(300):
        if flag.exists():
            break
        time.sleep(0.05)
    assert flag.exists()
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert _snapshot(out) == before and verify(out) == []
    assert [x for x in tmp_path.iterdir() if x.name.endswith(".staging")]  # orphaned, as expected
    publish(out, _writer("next"))
    assert verify(out) == [] and not [x for x in tmp_path.iterdir() if x.name.endswith(".staging")]


def test_a_run_killed_between_the_two_renames_is_put_back(tmp_path):
    out = tmp_path / "out"
    publish(out, _writer("previous"))
    before = _snapshot(out)
    os.replace(out, tmp_path / ".out.previous-12345")  # what a kill between the renames leaves
    with pytest.raises(RuntimeError):
        publish(out, _writer("x", fail=RuntimeError("stop")))
    assert _snapshot(out) == before  # recovered under the lock, then the failed write left it alone


def test_folder_names_with_glob_characters(tmp_path):
    out = tmp_path / "run[1]*"
    publish(out, _writer("one"))
    publish(out, _writer("two"))
    assert json.loads((out / "summary.json").read_text())["x"] == "two" and verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run[1]*.lock", "run[1]*"]


def test_a_swallowed_interrupt_still_stops_publishing(tmp_path, monkeypatch):
    """Python only prints a KeyboardInterrupt raised inside a finaliser; the signal handler also
    records the signal, and the run refuses to publish once one was received."""
    import mmxsim.app as app

    monkeypatch.setattr(app, "STOP_REQUESTED", [signal.SIGTERM])
    with pytest.raises(KeyboardInterrupt):
        publish(tmp_path / "out", lambda stage: app._not_stopped(_writer("x")(stage)))
    assert not (tmp_path / "out").exists()
