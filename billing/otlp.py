"""Claude Code's OpenTelemetry export (OTLP over HTTP, JSON encoding), for attached sessions:
their Claude Code runs elsewhere, so its model responses never reach the runner.

- logs (`/api/otlp/v1/logs`): each `claude_code.api_request` event (model, input, output,
  cache read and cache creation tokens) becomes one `TelemetryUsage` event on the ingestion
  path, priced by billing's meter like an assistant message's usage (deduplicated by the
  record's own id: its timestamp and sequence);
- metrics (`/api/otlp/v1/metrics`): `claude_code.cost.usage` data points (delta temporality,
  as hook-config sets it) add to Claude Code's own figure (`claude_cost_usd`), kept beside
  ours. `claude_code.token.usage` is acknowledged and not counted: the api_request events
  already carry the same tokens per request, with their model.

Authenticated by the session's hook token (`Authorization: Bearer <token>`), checked against
the locked session row in the transaction that records, as every hook post is.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from sessions import ingest
from sessions.hooks import intake
from sessions.ingest import IngestRefused
from sessions.ingest.events import TELEMETRY_USAGE
from tenants import json_rules

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_RECORDS = 1000
API_REQUEST = ("claude_code.api_request", "api_request")
COST_METRIC = "claude_code.cost.usage"
DELTA = 1  # AggregationTemporality.DELTA


def parse(body: bytes) -> dict:
    if len(body) > MAX_BODY_BYTES:
        raise IngestRefused("The export is larger than 4 MB.", status=413)
    try:
        data = json_rules.loads(body)
    except json_rules.HostileValue as exc:
        raise IngestRefused(f"The export was refused: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise IngestRefused(f"The body is not valid JSON (OTLP/HTTP JSON encoding): {exc}") from exc
    if not isinstance(data, dict):
        raise IngestRefused("An OTLP export is a JSON object.")
    return data


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _dicts(parent: object, key: str) -> Iterator[dict]:
    if isinstance(parent, dict):
        yield from (item for item in _list(parent.get(key)) if isinstance(item, dict))


def attributes(record: dict) -> dict:
    """OTLP's [{key, value: {stringValue|intValue|doubleValue|boolValue}}] as a dict."""
    found = {}
    for item in _dicts(record, "attributes"):
        value = item.get("value") if isinstance(item.get("value"), dict) else {}
        for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if kind in value:
                found[str(item.get("key"))] = value[kind]
                break
    return found


def _count(value: object) -> int:
    # OTLP JSON writes 64-bit integers as strings.
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    return number if 0 <= number < 10**12 else 0


def _number(value: object) -> float | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return float(number) if number.is_finite() and 0 <= number < 1_000_000 else None


def log_usages(data: dict) -> list[tuple[str, dict]]:
    """(event id, TelemetryUsage payload) for each api_request record of a logs export."""
    found = []
    for resource in _dicts(data, "resourceLogs"):
        for scope in _dicts(resource, "scopeLogs"):
            for record in _dicts(scope, "logRecords"):
                attrs = attributes(record)
                body = record.get("body") if isinstance(record.get("body"), dict) else {}
                name = attrs.get("event.name") or body.get("stringValue")
                if name not in API_REQUEST:
                    continue
                ident = "otlp:{}:{}:{}".format(
                    attrs.get("prompt.id", ""),
                    attrs.get("event.sequence", ""),
                    record.get("timeUnixNano") or attrs.get("event.timestamp", ""),
                )
                usage = {
                    "input_tokens": _count(attrs.get("input_tokens")),
                    "output_tokens": _count(attrs.get("output_tokens")),
                    "cache_read_input_tokens": _count(attrs.get("cache_read_tokens")),
                    "cache_creation_input_tokens": _count(attrs.get("cache_creation_tokens")),
                }
                payload = {
                    "hook_event_name": TELEMETRY_USAGE,
                    "model": str(attrs.get("model") or "")[:200],
                    "message_id": ident[:200],
                    "usage": usage,
                }
                found.append((ident[:100], payload))
    return found[:MAX_RECORDS]


def metric_cost(data: dict) -> tuple[float, str]:
    """Claude Code's cost in a metrics export (delta data points of claude_code.cost.usage),
    and a key for the export (the data points' end times)."""
    total, times = 0.0, []
    for resource in _dicts(data, "resourceMetrics"):
        for scope in _dicts(resource, "scopeMetrics"):
            for metric in _dicts(scope, "metrics"):
                if metric.get("name") != COST_METRIC or not isinstance(metric.get("sum"), dict):
                    continue
                if metric["sum"].get("aggregationTemporality") not in (
                    DELTA,
                    "AGGREGATION_TEMPORALITY_DELTA",
                ):
                    continue  # a running total cannot be added; hook-config asks for delta
                for point in _dicts(metric["sum"], "dataPoints"):
                    value = _number(point.get("asDouble", point.get("asInt")))
                    if value:
                        total += value
                        times.append(str(point.get("timeUnixNano") or ""))
    return total, ",".join(sorted(times))[:90]


def receive(*, authorization: str, body: bytes, signal: str) -> tuple[int, dict]:
    """One OTLP/HTTP export (`signal`: "logs" or "metrics"); the status and JSON answer."""
    try:
        credential = intake.authenticate(authorization)
        data = parse(body)
        # All handed to the writer at once (it batches them), then every answer awaited.
        futures = [
            ingest.submit(
                ingest.prepare(
                    session_id=credential.session_id,
                    organization_id=credential.organization_id,
                    payload=payload,
                    event_id=event_id,
                    token_hash=credential.token_hash,
                )
            )
            for event_id, payload in _events(data, signal)
        ]
        for future in futures:
            outcome = future.result()
            if isinstance(outcome, IngestRefused):
                raise outcome
    except IngestRefused as refused:
        return refused.status, {"code": refused.status, "message": refused.detail}
    return 200, {}  # Export*ServiceResponse: all accepted


def _events(data: dict, signal: str) -> list[tuple[str, dict]]:
    if signal == "logs":
        return log_usages(data)
    cost, key = metric_cost(data)
    if not cost:
        return []
    return [(f"otlp-cost:{key}", {"hook_event_name": TELEMETRY_USAGE, "claude_cost_usd": cost})]
