"""Human-readable reports of a run: one self-contained folder of HTML pages (``report/``).

:func:`write_report` writes the folder (``index.html``, one page per section, trajectory, events,
model, timings, bibliography, ``figures/*.png``, ``assets/plotly.min.js``) from Jinja2 templates;
:func:`render_report` gives the same files in memory. See :mod:`mmxsim.report.html`.
Matplotlib and plotly are imported only when a report is drawn.
"""

from .html import render_report, write_report

__all__ = ["render_report", "write_report"]
