"""Campaigns: a durable queue of attempts (competition × seed) run N at a time by a supervisor.

The API the CLI and the evolve loop use: `ensure_campaign`, `run_campaign`, `results`, `cached_result`.
"""

from agent.campaign.control import (
    cached_result,
    campaign_status,
    ensure_campaign,
    results,
    run_campaign,
    start_detached,
    stop_campaign,
    supervise,
)
from agent.campaign.spec import CampaignSpec, attempt_run_id, parse_seeds
from agent.campaign.store import CampaignStore, list_campaigns

__all__ = ["CampaignSpec", "CampaignStore", "attempt_run_id", "cached_result", "campaign_status", "ensure_campaign",
           "list_campaigns", "parse_seeds", "results", "run_campaign", "start_detached", "stop_campaign",
           "supervise"]
