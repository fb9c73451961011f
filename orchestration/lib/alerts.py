"""Telling someone when a run fails: which gates failed (asset, check, first failures) and which
steps, posted to a webhook (a Microsoft Teams or Slack incoming webhook, EDU_ALERT_WEBHOOK_URL) and
appended to ``warehouse/build/logs/alerts.log``, so the termly run never fails unnoticed.

`make run` sends the alert itself when its run fails; in the Dagster UI (`make dev`), the
run-failure sensor sends it for runs started there or by the termly schedule. Each run is alerted
once: `make run` tags its runs, and the sensor leaves tagged runs alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestration.lib.printable import printable
from orchestration.lib.run_summary import RunFacts

ALERTED_TAG = "edu/alerted_by"
ALERTS_LOG = "alerts.log"
WEBHOOK_TIMEOUT_SECONDS = 10
MAX_ITEMS = 10  # a message a phone can show: the rest is in run_report.txt
MAX_LINE = 300


@dataclass(frozen=True)
class Alert:
    run_id: str
    job: str
    failed_gates: list[dict]  # asset, check, description (its first lines)
    failed_steps: list[dict]  # step, message (its first line)
    report: str | None  # where the whole story is

    @property
    def text(self) -> str:
        lines = [f"Education outcomes pipeline: run {self.run_id[:8]} of {self.job} FAILED; nothing new was published."]
        if self.failed_gates:
            lines.append(f"Failed gates ({len(self.failed_gates)}):")
            for gate in self.failed_gates[:MAX_ITEMS]:
                lines.append(f"- {gate['asset']} / {gate['check']}: {gate['description']}")
        if self.failed_steps:
            lines.append(f"Failed steps ({len(self.failed_steps)}):")
            for step in self.failed_steps[:MAX_ITEMS]:
                lines.append(f"- {step['step']}: {step['message']}")
        hidden = max(0, len(self.failed_gates) - MAX_ITEMS) + max(0, len(self.failed_steps) - MAX_ITEMS)
        if hidden:
            lines.append(f"... and {hidden} more")
        if self.report:
            lines.append(f"In full: {self.report}")
        return printable("\n".join(lines))

    def payload(self) -> dict:
        # "text" is what Teams' and Slack's incoming webhooks show; the rest is for other receivers.
        return {
            "text": self.text,
            "run_id": self.run_id,
            "job": self.job,
            "failed_gates": self.failed_gates,
            "failed_steps": self.failed_steps,
        }


def _first_lines(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in (text or "").strip().splitlines() if line.strip()][:lines]
    joined = " | ".join(kept)
    return joined if len(joined) <= MAX_LINE else joined[: MAX_LINE - 1] + "…"


def failure_alert(facts: RunFacts, run_id: str, job: str, report: str | None = None) -> Alert:
    return Alert(
        run_id=run_id,
        job=job,
        failed_gates=[
            {"asset": g.asset, "check": g.check, "description": _first_lines(g.description)} for g in facts.failed_gates
        ],
        failed_steps=[{"step": s.step, "message": _first_lines(s.message, 1)} for s in facts.failed_steps],
        report=report,
    )


def deliver(alert: Alert, settings) -> list[str]:
    """Append the alert to the alerts log and post it to the webhook, if one is set. Returns what
    went wrong (a webhook that is down must not hide the alert: it is in the log either way)."""
    problems = []
    log = settings.log_dir / ALERTS_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with log.open("a", encoding="utf-8") as out:
        out.write(f"{stamp} {alert.text}\n\n")
    if settings.alert_webhook_url:
        import requests

        try:
            response = requests.post(
                settings.alert_webhook_url,
                data=json.dumps(alert.payload()),
                headers={"Content-Type": "application/json"},
                timeout=WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            if response.status_code >= 300:
                problems.append(f"the alert webhook answered HTTP {response.status_code}")
        except requests.RequestException as exc:
            # The URL may carry a token: name the kind of failure, never the address.
            problems.append(f"the alert webhook could not be reached ({type(exc).__name__})")
        if problems:
            with log.open("a", encoding="utf-8") as out:
                out.write(f"{stamp} alert for run {alert.run_id} not posted: {'; '.join(problems)}\n\n")
    return problems
