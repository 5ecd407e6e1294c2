"""The comms tests keep mmxsim's on-disk memos (:mod:`mmxsim.comms._cache`) in a folder of their
own, so they neither read a user's cache nor leave files in it."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _comms_cache_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("MMXSIM_CACHE_DIR", str(tmp_path_factory.mktemp("mmxsim-cache")))
    yield
    mp.undo()
