"""mmxsim.files: numba_cache_has finds the index numba itself writes, in each of its cache places."""

import os
import subprocess
import sys
import textwrap

import pytest

from mmxsim.files import numba_cache_has

pytest.importorskip("numba")


def _compile_in(mod, env_extra):
    mod.parent.mkdir(exist_ok=True)
    mod.write_text(textwrap.dedent("""
        import numba

        @numba.njit(cache=True)
        def kernel_one(x):
            return x + 1.0
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONDONTWRITEBYTECODE")}
    env.update(env_extra)
    code = f"import sys; sys.path.insert(0, {str(mod.parent)!r}); import probe_mod; probe_mod.kernel_one(1.0)"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)


@pytest.mark.parametrize("where", ["NUMBA_CACHE_DIR", "__pycache__"])
def test_numba_cache_has_finds_what_numba_wrote(tmp_path, monkeypatch, where):
    """numba (in a child process) compiles a cached function; the lookup, which does not import numba,
    finds its index where numba put it, and not for another function or before it is compiled."""
    extra = {"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")} if where == "NUMBA_CACHE_DIR" else {}
    mod = tmp_path / "src" / "probe_mod.py"
    if extra:
        monkeypatch.setenv("NUMBA_CACHE_DIR", extra["NUMBA_CACHE_DIR"])
    else:
        monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert not numba_cache_has(mod, "kernel_one")
    _compile_in(mod, extra)
    assert numba_cache_has(mod, "kernel_one")
    assert not numba_cache_has(mod, "kernel_two")
    if extra:  # beside the source there is nothing: numba wrote to NUMBA_CACHE_DIR
        assert not (mod.parent / "__pycache__").is_dir() or not list((mod.parent / "__pycache__").glob("*.nbi"))
