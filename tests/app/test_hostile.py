"""Issue 15: a corpus of >= 100 malformed and hostile scenario files through `mmxsim validate` and
`mmxsim run`: every one answers exit 0 or exit 2 with a message, none with a traceback, a hang
(60 s per command) or code execution, and the whole batch stays under 1.5 GB of memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HOSTILE = Path(__file__).with_name("hostile.py")


def _documents(marker):
    import importlib.util

    spec = importlib.util.spec_from_file_location("mmxsim_tests_hostile", HOSTILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.documents(marker)


def test_hostile_corpus(tmp_path):
    marker = tmp_path / "pwned"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docs = _documents(marker)
    assert len(docs) >= 100
    for name, text in docs.items():
        (corpus / f"{name}.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "results.json"
    subprocess.run([sys.executable, str(HOSTILE), str(corpus), str(out)],
                   check=True, timeout=1500)
    rows = json.loads(out.read_text())
    peak = rows.pop("__peak_rss_mb__")
    bad = {k: v for k, v in rows.items() for c in ("validate", "run")
           if v[c]["exit"] not in (0, 2) or v[c]["traceback"] or v[c]["s"] > 60}
    assert not bad, json.dumps(bad, indent=1)[:4000]
    assert not marker.exists()  # no code execution
    assert peak < 1500, peak
    for name, v in rows.items():  # an exit 2 always says why
        for c in ("validate", "run"):
            if v[c]["exit"] == 2:
                assert "error" in v[c]["message"].lower() or "invalid" in v[c]["message"], (name, c, v[c])
    # the ones that must run, ran, and their report escaped the markup
    for name in ("valid_baseline", "markup_in_name", "formula_in_name"):
        assert rows[name]["validate"]["exit"] == 0 and rows[name]["run"]["exit"] == 0, rows[name]
    html = (corpus / "out" / "markup_in_name" / "report" / "index.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert sum(v["validate"]["exit"] == 2 for v in rows.values()) >= 95
    # true / false where a number goes were taken as 1 / 0 (duration_days: true was a one-day run)
    assert all(v["validate"]["exit"] == 2 for k, v in rows.items() if k.endswith("_bool")), \
        [k for k, v in rows.items() if k.endswith("_bool") and v["validate"]["exit"] != 2]
    # kernels that provide nothing: refused by the run (validate does not load kernels)
    assert rows["kernels_etc_passwd"]["run"]["exit"] == rows["kernels_lsk_only"]["run"]["exit"] == 2
