"""Human-readable reports of a run (one self-contained HTML file).

Matplotlib is imported only when a report is drawn.
"""

from .html import render_report, write_report

__all__ = ["render_report", "write_report"]
