"""Session-wide test set-up.

Java VMs in the test process. Some tests use Orekit (orekit-jpype, an optional test dependency),
which starts a Java VM inside the pytest process. HotSpot started on the process's primordial
thread (as JPype does) caps that thread's stack at ``-Xss`` (1 MB by default) and puts its guard
pages there; heyoka (LLVM) compiling a large model on the main thread later recurses deeper and the
process dies with SIGSEGV (seen: tests/navigation/test_variational.py after any Orekit test in the
same session). ``JAVA_TOOL_OPTIONS`` is read by every JVM at creation, whoever starts it, so each
one gets ``-Xss`` at the real stack limit (``ulimit -s``; 64 MB when unlimited) and its guard pages
at the stack's true end. Nothing else changes; no JVM is started here.
"""

import os
import resource


def _xss() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    mb = 64 if soft == resource.RLIM_INFINITY else max(8, soft // 2**20)
    return f"-Xss{mb}m"


_opts = os.environ.get("JAVA_TOOL_OPTIONS", "")
if "-Xss" not in _opts:
    os.environ["JAVA_TOOL_OPTIONS"] = f"{_opts} {_xss()}".strip()


def pytest_sessionfinish(session, exitstatus):
    """Shut down a JVM that a test started, before pytest's faulthandler plugin is unconfigured.

    The JVM handles SIGSEGV itself (implicit null checks and polling pages of its compiled code);
    pytest enables faulthandler before any JVM starts and, when it disables it at the end, puts the
    default SIGSEGV action back in place of the JVM's handler: a JVM still running then (its shutdown
    at interpreter exit) kills the process with SIGSEGV after all tests passed (seen after Orekit's
    batch least squares). Shutting it down here, while its handlers are in place, avoids that."""
    import sys

    jpype = sys.modules.get("jpype")
    if jpype is not None and jpype.isJVMStarted():
        jpype.shutdownJVM()
