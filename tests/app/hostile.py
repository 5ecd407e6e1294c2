"""The hostile-scenario corpus of tests/app/test_hostile.py, and the driver that runs it.

``documents(tmp)`` -> {name: text or bytes}: the 76 hand-written malformed files of
tests/mission/malformed plus generated attacks on the YAML reader (alias bombs, nesting, size,
tags that would execute code, encodings), on the values (NaN, infinities, extremes, wrong types
in every numeric field of the core schema), on the work a run asks for, on the kernels and on the
outputs (markup in names). ``python hostile.py CORPUS_DIR OUT_JSON`` runs ``mmxsim validate`` and
``mmxsim run`` on every file in-process (CliRunner), each under a 60 s alarm, and writes per file:
exit codes, whether an exception escaped (a traceback), seconds, and the process's peak memory.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = ("name: hostile\nepoch: '2027-09-01T00:00:00'\nduration_days: 0.05\n"
        "initial_state: {type: qso, radial_semi_axis_km: 50}\n"
        "force_model: {phobos: {model: point_mass}, srp: {enabled: false}}\n")


def _bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [" + ",".join(['"lol"'] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return BASE + "\n".join(lines) + "\n"


def documents(marker: Path) -> dict[str, str | bytes]:
    docs: dict[str, str | bytes] = {}
    for p in sorted((HERE.parent / "mission" / "malformed").glob("*.yaml")):
        docs[f"malformed_{p.stem}"] = p.read_bytes()
    # the reader
    for lv, w in [(9, 9), (12, 4), (6, 30), (20, 2)]:
        docs[f"alias_bomb_{lv}x{w}"] = _bomb(lv, w)
    docs["merge_key_bomb"] = BASE + "a: &a {x: 1}\n" + "".join(
        f"b{i}: &b{i} {{<<: [*{'a' if i == 0 else f'b{i - 1}'}], y{i}: {i}}}\n" for i in range(40))
    docs["long_string_aliased"] = BASE + "s: &s " + "x" * 200_000 + "\nl: [" + ", ".join(["*s"] * 500) + "]\n"
    docs["recursive_alias"] = BASE + "a: &a [*a]\n"
    for d in (100, 5_000, 100_000):
        docs[f"deep_flow_{d}"] = BASE + "x: " + "[" * d + "]" * d + "\n"
    docs["deep_block_300"] = BASE + "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v: 1\n"
    docs["huge_file"] = BASE + "# " + "x" * 3_000_000 + "\n"
    docs["python_object_apply"] = BASE + f"x: !!python/object/apply:os.system ['touch {marker}']\n"
    docs["python_name"] = BASE + "x: !!python/name:os.system\n"
    docs["python_module"] = BASE + "x: !!python/module:os\n"
    docs["custom_tag"] = BASE + "x: !mmxsim/evil {a: 1}\n"
    docs["binary_tag"] = BASE + "x: !!binary aGVsbG8=\n"
    docs["not_utf8"] = BASE.encode() + b"x: \xff\xfe\xfa\n"
    docs["nul_bytes"] = BASE.encode() + b"x: \x00\x00\n"
    docs["utf16_bom"] = BASE.encode("utf-16")
    docs["tabs_indent"] = BASE + "propagation:\n\ttolerance: 1e-12\n"
    docs["root_list"] = "- 1\n- 2\n"
    docs["root_scalar"] = "42\n"
    docs["root_null"] = "~\n"
    docs["two_documents"] = BASE + "---\n" + BASE
    docs["long_key"] = BASE + "k" * 100_000 + ": 1\n"
    docs["many_keys"] = BASE + "".join(f"k{i}: {i}\n" for i in range(50_000))
    # values
    fields = {"duration_days": None, "propagation.tolerance": "propagation", "propagation.output_step_s": "propagation",
              "spacecraft.mass_kg": "spacecraft", "spacecraft.srp_area_m2": "spacecraft", "spacecraft.cr": "spacecraft",
              "initial_state.radial_semi_axis_km": "initial_state", "initial_state.out_of_plane_km": "initial_state"}
    for path in fields:
        for tag, val in [("nan", ".nan"), ("inf", ".inf"), ("neg_inf", "-.inf"), ("huge", "1e308"), ("tiny", "1e-308"),
                         ("negative", "-1"), ("string", "'ten'"), ("list", "[1, 2]"), ("bool", "true")]:
            block, key = (path.split(".") + [None])[:2] if "." in path else (None, path)
            if block is None:
                text = BASE.replace("duration_days: 0.05", f"duration_days: {val}")
            elif block == "initial_state":
                text = BASE.replace("radial_semi_axis_km: 50}", f"radial_semi_axis_km: 50, {key}: {val}}}") \
                    if key != "radial_semi_axis_km" else BASE.replace("radial_semi_axis_km: 50", f"{key}: {val}")
            else:
                text = BASE + f"{block}: {{{key}: {val}}}\n"
            docs[f"value_{path.replace('.', '_')}_{tag}"] = text
    docs["epoch_year_99999"] = BASE.replace("'2027-09-01T00:00:00'", "'99999-01-01T00:00:00'")
    docs["epoch_now"] = BASE.replace("'2027-09-01T00:00:00'", "now")
    docs["epoch_empty"] = BASE.replace("'2027-09-01T00:00:00'", "''")
    docs["kernels_etc_passwd"] = BASE + "ephemeris: {backend: spice, kernels: [/etc/passwd]}\n"
    docs["kernels_directory"] = BASE + "ephemeris: {backend: spice, kernels: [/tmp]}\n"
    docs["kernels_lsk_only"] = BASE + "ephemeris: {backend: spice, kernels: ['builtin:naif0012.tls']}\n"
    docs["analysis_huge_samples"] = BASE + "analyses: {landing: {samples: 1000000000}}\n"
    docs["analysis_negative_seed"] = BASE + "analyses: {landing: {seed: -1}}\n"
    # outputs: must run, with the markup escaped in the report
    docs["markup_in_name"] = BASE.replace("name: hostile", "name: \"<script>alert(1)</script><img src=x onerror=alert(2)>\"")
    docs["formula_in_name"] = BASE.replace("name: hostile", "name: \"=HYPERLINK('http://x','y')\"")
    docs["valid_baseline"] = BASE
    return docs


def _alarm(_sig, _frame):
    raise TimeoutError("over 60 s")


def _peak_rss_mb() -> float:
    """This process's own peak resident memory, MB: VmHWM of /proc/self/status (the high-water mark of
    the memory map that exec made). Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that maximum
    across exec, so it also counts the parent's memory at the fork (a pytest worker that had run heavy
    tests reported 1.8 GB for a corpus that peaks near 0.6 GB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(corpus: Path, out_json: Path) -> None:
    from typer.testing import CliRunner

    from mmxsim.cli import app

    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # a safety net for the machine only
    signal.signal(signal.SIGALRM, _alarm)
    runner = CliRunner()
    rows = {}
    for f in sorted(corpus.glob("*.yaml")):
        row = {}
        for cmd in ("validate", "run"):
            args = [cmd, str(f)] + (["-q", "--out", str(corpus / "out" / f.stem)] if cmd == "run" else [])
            t = time.perf_counter()
            signal.alarm(60)
            try:
                r = runner.invoke(app, args)
                code, escaped = r.exit_code, (r.exception is not None and not isinstance(r.exception, SystemExit))
                text = r.output
            except TimeoutError:
                code, escaped, text = None, False, "TIMEOUT"
            finally:
                signal.alarm(0)
            row[cmd] = {"exit": code, "traceback": escaped or "Traceback" in text, "s": time.perf_counter() - t,
                        "message": text if len(text) <= 600 else text[:300] + " ... " + text[-300:]}
        rows[f.stem] = row
    rows["__peak_rss_mb__"] = _peak_rss_mb()
    out_json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
