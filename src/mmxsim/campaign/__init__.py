"""Campaigns: Monte Carlo draws and parameter sweeps over any scenario field, run on Dask.

``load_campaign(path)`` reads a campaign file (:mod:`mmxsim.campaign.spec`),
``run_campaign(spec, out_dir)`` runs its samples on a Dask cluster (a LocalCluster by
default) with checkpointing (:mod:`mmxsim.campaign.checkpoint`) and returns a
:class:`CampaignResult` whose table is also written as ``results.parquet``.

Only the spec is imported eagerly; Dask, pyarrow and rich are imported when a
campaign runs.
"""

from __future__ import annotations

from .spec import CampaignSpec, Vary, load_campaign, parse_campaign, sample_seed

__all__ = [
    "CampaignSpec",
    "Vary",
    "load_campaign",
    "parse_campaign",
    "sample_seed",
    "run_campaign",
    "run_sample",
    "CampaignResult",
    "campaign_figure",
]


def __getattr__(name):  # lazy: the runner imports heavier things
    if name in ("run_campaign", "run_sample", "CampaignResult", "campaign_figure"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
