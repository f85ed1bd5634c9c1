"""The OTLP/HTTP receiver's routes (JSON encoding): outside DRF, as the hook routes are,
since its clients are OpenTelemetry exporters, not API users (see billing/otlp.py)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import otlp

JSON_TYPES = ("application/json", "")


def _receive(request: HttpRequest, signal: str) -> JsonResponse:
    kind = request.content_type.split(";")[0].strip().lower()
    if kind not in JSON_TYPES:
        return JsonResponse(
            {
                "code": 415,
                "message": "Only the JSON encoding is taken: set "
                "OTEL_EXPORTER_OTLP_PROTOCOL=http/json.",
            },
            status=415,
        )
    status, body = otlp.receive(
        authorization=request.headers.get("Authorization", ""), body=request.body, signal=signal
    )
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="hooks"'
    return response


@csrf_exempt
@require_POST
def otlp_logs(request: HttpRequest) -> JsonResponse:
    return _receive(request, "logs")


@csrf_exempt
@require_POST
def otlp_metrics(request: HttpRequest) -> JsonResponse:
    return _receive(request, "metrics")
