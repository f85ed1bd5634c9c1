"""End to end: a hand-run Claude Code (the real CLI, on the scripted model) exports its
usage with OpenTelemetry to the receiver, set up as hook-config says."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing.models import TokenCharge
from sessions.agent.scripted_model.server import ScriptedModelServer
from sessions.models import Session
from tests.billing.conftest import set_price
from tests.sessions.conftest import wait_for
from tests.sessions.hooks.test_attach_e2e import (
    PROMPT,
    Machine,
    attach,
    fetch_hook_config,
    succeeded,
    write_settings,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


class TelemetryMachine(Machine):
    telemetry: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        # Export often: the test waits for the export, not for the exporter's timer.
        quick = {"OTEL_METRIC_EXPORT_INTERVAL": "500", "OTEL_LOGS_EXPORT_INTERVAL": "500"}
        return {**super().env(), **self.telemetry, **quick}


@pytest.fixture
def cli(tmp_path) -> Iterator[TelemetryMachine]:
    with ScriptedModelServer() as server:
        yield TelemetryMachine(tmp_path / "machine", server.base_url)


def test_the_cli_exports_its_tokens_and_cost_to_the_receiver(
    cli, live_server, api, member, superuser, project_root, settings
):
    settings.PUBLIC_URL = ""
    project = project_root / "app"
    attached = attach(api(member), project_type="local", local_path=str(project))
    set_price(superuser, "claude", "3", "15")  # whichever Claude model the CLI asks for
    config = fetch_hook_config(live_server.url, attached["id"], member)
    write_settings(project / ".claude" / "settings.json", config["http_settings"])
    assert config["telemetry_env"]["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith("/api/otlp")
    cli.telemetry = config["telemetry_env"]
    run = cli.claude(PROMPT, cwd=project)
    assert succeeded(run), run.stderr
    responses = {m["message"]["id"] for m in run.messages if m.get("type") == "assistant"}
    session_id = attached["id"]
    wait_for(lambda: TokenCharge.objects.filter(session_id=session_id).count() >= len(responses))
    charges = TokenCharge.objects.filter(session_id=session_id)
    assert all(c.priced and c.cost_usd > 0 for c in charges)
    session = wait_for(lambda: Session.objects.filter(pk=session_id, total_cost_usd__gt=0).first())
    assert session.cost_usd > 0  # ours, beside Claude Code's own figure
