"""The web dashboard: server-rendered pages over the same selectors and services as the API.

Views stay thin: check who may act, parse a form, call one service, answer. The detail page
renders the events so far and hands the live client (static/sessions/live.js) the seq it
rendered up to, so the client catches up from exactly there.
"""

from __future__ import annotations

import json
import shlex
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.quotas import QuotaExceeded

from .. import selectors, services
from ..agent.jail import JAIL_WORKSPACE
from ..api.filters import search_sessions
from ..choices import ENDED_STATUSES, SessionMode, SessionStatus
from ..hooks import config as hook_config
from ..ingest.events import SUMMARY_KEYS
from ..models import CommandLog, Session, SessionMessage, session_budget
from . import extensions
from .forms import FollowUpForm, NewSessionForm, SessionFilterForm, StopForm

# Until settings.LOGIN_URL points here, the dashboard names its own login page.
LOGIN_URL = reverse_lazy("login")
SESSIONS_PER_PAGE = 25
# A page renders at most this many events of each kind; the live client fetches the rest.
INITIAL_EVENTS = 1000
STATUS_POLL_MAX_IDS = 100
# How far back the list's discovery of new sessions looks before the `since` it is given
# (see _created_since), and at most how far back it looks at all.
NEW_SESSIONS_SLACK = timedelta(seconds=60)
NEW_SESSIONS_LOOKBACK_MAX = timedelta(days=1)
# Input keys holding a file or folder path: shown relative to the agent's workspace.
PATH_KEYS = ("file_path", "notebook_path", "path")
# Tools whose one line is "pattern in folder" rather than their first telling key.
PATTERN_TOOLS = ("Grep", "Glob")
SUMMARY_CHARS = 160
# The same rule for toolcalls.js, which summarizes the rows that arrive live.
SUMMARY_RULE = {
    "keys": SUMMARY_KEYS,
    "pathKeys": PATH_KEYS,
    "patternTools": PATTERN_TOOLS,
    "chars": SUMMARY_CHARS,
}
# Statuses in which send_message accepts a follow-up.
# A budget_exceeded session takes one once its budget is raised (the service checks).
FOLLOW_UP_STATUSES = (SessionStatus.IDLE, SessionStatus.COMPLETED, SessionStatus.BUDGET_EXCEEDED)

dashboard_login_required = login_required(login_url=LOGIN_URL)


def _require_control(request: HttpRequest) -> None:
    if not request.user.can_control_sessions:
        raise PermissionDenied("Viewers have read-only access.")


@require_GET
@dashboard_login_required
def session_list(request: HttpRequest) -> HttpResponse:
    filters, chosen, sessions = _listed(request)
    page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    list_config = {
        "statusesUrl": reverse("sessions:statuses"),
        "endedStatuses": sorted(ENDED_STATUSES),
        # Only the first page shows the newest sessions: only it takes in new ones.
        "discover": page.number == 1,
        "since": timezone.now().isoformat(),
        "filters": {key: str(value) for key, value in chosen.items()},
    }
    return render(
        request,
        "sessions/session_list.html",
        {
            "page": page,
            "page_numbers": page.paginator.get_elided_page_range(
                page.number, on_each_side=2, on_ends=1
            ),
            "filters": filters,
            "filter_query": urlencode(chosen),
            "filtered": bool(chosen),
            "search": chosen.get("q", ""),
            "narrowed": any(field != "q" for field in chosen),
            "list_config": list_config,
        },
    )


def _listed(request: HttpRequest):
    """The filter form, the filters it chose and the user's sessions they select: the list
    page and its discovery of new sessions (session_statuses) select alike."""
    filters = SessionFilterForm(request.GET)
    filters.is_valid()  # a value that is not valid is left out of cleaned_data: ignored
    chosen = {field: value for field, value in filters.cleaned_data.items() if value}
    narrowing = {field: value for field, value in chosen.items() if field != "q"}
    sessions = selectors.sessions_visible_to(request.user).filter(**narrowing)
    return filters, chosen, search_sessions(sessions, chosen.get("q", ""))


@require_GET
def session_statuses(request: HttpRequest) -> JsonResponse:
    """The light poll behind the list page: a few sessions' status by id and, given `since`
    (and the list's filters and search), the sessions created since then that the list
    shows, rendered as its rows, so a list's first page takes them in without a reload."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Log in first."}, status=401)
    ids = []
    for raw in request.GET.getlist("id")[:STATUS_POLL_MAX_IDS]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    sessions = selectors.sessions_visible_to(request.user).filter(pk__in=ids)
    answer = {"sessions": [_status_of(session) for session in sessions]}
    if "since" in request.GET:
        try:
            since = _moment(request.GET["since"])
        except ValueError as exc:
            return JsonResponse({"detail": str(exc)}, status=400)
        answer |= _created_since(request, since, shown=ids)
    return JsonResponse(answer)


def _moment(raw: str) -> datetime:
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            "since must be an ISO 8601 date and time with its offset, "
            "e.g. 2026-01-31T12:00:00+00:00 (the `since` of the previous answer)."
        )
    return moment


def _created_since(request: HttpRequest, since: datetime, *, shown: list) -> dict:
    # A session is stamped when its transaction starts and seen once it commits: look back
    # a little so one that committed just after the last poll is not missed; the ids the
    # page already shows are left out.
    now = timezone.now()
    start = max(since, now - NEW_SESSIONS_LOOKBACK_MAX) - NEW_SESSIONS_SLACK
    _, _, sessions = _listed(request)
    created = sessions.filter(created_at__gte=start).exclude(pk__in=shown)
    rows = []
    for session in created[:SESSIONS_PER_PAGE]:
        html = render_to_string("sessions/_session_row.html", {"session": session}, request)
        rows.append({"id": str(session.pk), "html": html})
    return {"new_sessions": rows, "since": now.isoformat()}


def _status_of(session: Session) -> dict:
    return {
        "id": str(session.pk),
        "status": session.status,
        "status_label": session.get_status_display(),
        "status_reason": session.status_reason,
        "last_activity_at": (
            session.last_activity_at.isoformat() if session.last_activity_at else None
        ),
        "tool_call_count": session.tool_call_count,
        "input_tokens": session.input_tokens,
        "output_tokens": session.output_tokens,
        "turn_input_tokens": session.turn_input_tokens,
        "turn_output_tokens": session.turn_output_tokens,
        "total_cost_usd": f"{session.total_cost_usd:.4f}",
        "cost_usd": f"{session.cost_usd:.4f}",
        "created_at": session.created_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        **{f"budget_{k}": v for k, v in (cost_meter(session) or {}).items()},
    }


def cost_meter(session: Session) -> dict | None:
    """The session's cost against its budget (None without one), for the cost meter."""
    limit = session_budget(session)
    if limit is None:
        return None
    used = 100.0 if limit == 0 else min(float(session.cost_usd / limit * 100), 999.0)
    return {"limit": f"{limit:.4f}", "used_pct": round(used, 1), "warning": used >= 80}


@require_http_methods(["GET", "POST"])
@dashboard_login_required
def session_new(request: HttpRequest) -> HttpResponse:
    _require_control(request)
    form = NewSessionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        session = _create(request, form)
        if session is not None and session.new_hook_token:
            # The one time an attached session's token can be shown: show it now.
            return _render_hook_config(request, session, token=session.new_hook_token)
        if session is not None:
            return redirect("sessions:detail", session_id=session.pk)
    status = 429 if getattr(form, "quota_exceeded", False) else 400 if form.errors else 200
    return render_new_session(request, form, status=status)


def render_new_session(request: HttpRequest, form: NewSessionForm, status: int = 200):
    """The new-session page; features may add to its form (extensions, `session_new`)."""
    form.fit_to(request.user)  # what this user is offered, whoever built the form
    context = {"form": form, "extensions": extensions.render("session_new", request=request)}
    return render(request, "sessions/session_new.html", context, status=status)


def _create(request: HttpRequest, form: NewSessionForm) -> Session | None:
    """The new session, or None with the reasons attached to the form's fields. The same
    service and rules as the API's POST /api/sessions/: the form only shapes the request."""
    if request.user.organization_id is None:
        form.add_error(
            None,
            "Platform superusers belong to no organization; log in as a member of one to "
            "create sessions.",
        )
        return None
    try:
        return services.create_session(
            organization=request.user.organization, actor=request.user, **form.session_fields()
        )
    except ValidationError as exc:
        # The service's errors name fields (github_repo, local_path, metadata's options).
        form.add_service_errors(exc)
        return None
    except QuotaExceeded as exc:
        # The API's 429 message, word for word: the limit, the usage and what to do.
        form.add_error(None, exc.detail)
        form.quota_exceeded = True
        return None


@require_GET
@dashboard_login_required
def session_detail(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = selectors.get_session_for(request.user, session_id)
    return _render_detail(request, session, FollowUpForm())


def _render_detail(
    request: HttpRequest,
    session: Session,
    follow_up: FollowUpForm,
    status: int = 200,
    stop_form: StopForm | None = None,
) -> HttpResponse:
    workspace = agent_workspace(session)
    logs, conversation, last_seq = initial_events(session, workspace)
    turns = selectors.turns_of(session)
    # An auto-close session (its template's setting) takes no follow-up in any status.
    follow_up_statuses = [] if session.metadata.get("autoClose") is True else FOLLOW_UP_STATUSES
    live_config = {
        "sessionId": str(session.pk),
        "lastSeq": last_seq,
        "status": session.status,
        "wsPath": f"/ws/sessions/{session.pk}/",
        "streamUrl": f"/api/sessions/{session.pk}/stream",
        "eventsUrl": f"/api/sessions/{session.pk}/events/",
        "statusesUrl": reverse("sessions:statuses"),
        "endedStatuses": sorted(ENDED_STATUSES),
        "followUpStatuses": list(follow_up_statuses),
        "statusLabels": dict(SessionStatus.choices),
        "turnsShown": max((turn.number for turn in turns), default=0),
        "runningTools": selectors.running_tools(session, turns),
        "turnStartedAt": _turn_started_at(session, turns),
        "workspacePath": workspace,
    }
    return render(
        request,
        "sessions/session_detail.html",
        {
            "session": session,
            "logs": with_turns(logs, turns, last_seq),
            "conversation": conversation,
            "last_seq": last_seq,
            "live_config": live_config,
            "summary_rule": SUMMARY_RULE,
            "follow_up": follow_up,
            "stop_form": stop_form or StopForm(),
            "can_control": request.user.can_control_sessions,
            "is_ended": session.status in ENDED_STATUSES,
            "accepts_follow_up": (
                session.mode == SessionMode.MANAGED and session.status in follow_up_statuses
            ),
            "auto_close": session.metadata.get("autoClose") is True,
            "budget": cost_meter(session),
            "extensions": extensions.render("session_detail", request=request, session=session),
        },
        status=status,
    )


def initial_events(session: Session, workspace: str) -> tuple[list[dict], list[dict], int]:
    """The session's command logs and messages up to a seq, as live events, and that seq.

    Everything up to `session.last_seq` (read before these queries) is committed, since a
    seq is allocated under the session's row lock in the transaction that writes the event;
    so the returned seq is a cursor with no gap behind it, even while the agent writes."""
    cursor = session.last_seq
    logs = selectors.events_after(CommandLog, session, 0, INITIAL_EVENTS + 1)
    conversation = selectors.events_after(SessionMessage, session, 0, INITIAL_EVENTS + 1)
    for rows in (logs, conversation):
        if len(rows) > INITIAL_EVENTS:
            cursor = min(cursor, rows[INITIAL_EVENTS - 1].seq)
    return (
        [log_event(row, workspace) for row in logs if row.seq <= cursor],
        [message_event(row) for row in conversation if row.seq <= cursor],
        cursor,
    )


def with_turns(logs: list[dict], turns: list, cursor: int) -> list[dict]:
    """The command log with a separator after each turn's last event (as live.js places a
    turn that ends while the page is open)."""
    entries, pending = [], [turn.as_event() for turn in turns if turn.last_seq <= cursor]
    for log in logs:
        while pending and pending[0]["last_seq"] < log["seq"]:
            entries.append(turn_entry(pending.pop(0)))
        entries.append(log)
    return entries + [turn_entry(turn) for turn in pending]


def turn_entry(turn: dict) -> dict:
    turn["duration_label"] = duration_label(turn["duration_ms"])
    return turn


def _turn_started_at(session: Session, turns: list) -> str | None:
    """When the turn in progress began, for the page's elapsed-time clock."""
    if session.status != SessionStatus.RUNNING:
        return None
    started = session.turn_claimed_at if session.mode == SessionMode.MANAGED else None
    started = started or (turns[-1].ended_at if turns else session.started_at)
    return started.isoformat() if started else None


# The labels below are what live.js computes for events that arrive later (the one-line
# summary: toolcalls.js, which live.js calls); keep them alike.


def log_event(log: CommandLog, workspace: str) -> dict:
    event = log.as_event()
    event["summary"] = input_summary(log.input, tool=log.tool, workspace=workspace)
    event["input_json"] = json.dumps(log.input, indent=2, ensure_ascii=False)
    event["duration_label"] = duration_label(log.duration_ms)
    event["time_label"] = log.created_at.strftime("%H:%M:%S")
    shown = len(log.result.encode())
    event["result_size_label"] = f"{log.result_bytes} bytes" + (
        f", first {shown} shown" if log.result_bytes > shown else ""
    )
    return event


def message_event(message: SessionMessage) -> dict:
    event = message.as_event()
    event["direction_label"] = message.get_direction_display()
    event["time_label"] = message.created_at.strftime("%H:%M:%S")
    return event


def duration_label(duration_ms: int | None) -> str:
    if duration_ms is None:
        return ""
    if duration_ms < 1000:
        return f"{duration_ms} ms"
    # Tenths rounded half up in integers, exactly as live.js does (no float rounding rules).
    tenths = (duration_ms + 50) // 100
    return f"{tenths // 10}.{tenths % 10} s"


def agent_workspace(session: Session) -> str:
    """The workspace path as the session's agent sees it, which is how its tool inputs name
    files: the jail's mount point for a jailed managed session, else the folder on disk
    ("" when unknown, as for an attached session: then paths are shown as typed).
    A session that ever ran unsandboxed is taken to have run so throughout."""
    if session.mode == SessionMode.MANAGED and not session.unsandboxed:
        return JAIL_WORKSPACE
    return session.project_path


def input_summary(tool_input: object, *, tool: str, workspace: str) -> str:
    """One line that says what a tool call did, with paths relative to `workspace`
    (toolcalls.js has the same rule, for rows that arrive live)."""
    if not isinstance(tool_input, dict):
        return _clip(json.dumps(tool_input, ensure_ascii=False))
    pattern = tool_input.get("pattern")
    if tool in PATTERN_TOOLS and isinstance(pattern, str) and pattern.strip():
        where = relative_path(tool_input.get("path"), workspace)
        return _clip(f"{pattern.strip()} in {where}" if where not in ("", ".") else pattern.strip())
    for key in SUMMARY_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            line = value.strip().splitlines()[0]
            # A long path keeps its end: the file's name says more than its first folders.
            return _clip_start(relative_path(line, workspace)) if key in PATH_KEYS else _clip(line)
    return _clip(json.dumps(tool_input, ensure_ascii=False))


def relative_path(path: object, workspace: str) -> str:
    """`path` relative to the workspace ("." for the workspace itself); any other path, or
    a value that is no path, as it was typed."""
    if not isinstance(path, str):
        return ""
    root = workspace.rstrip("/")
    if not root:
        return path
    if path.rstrip("/") == root:
        return "."
    return path[len(root) + 1 :] if path.startswith(root + "/") else path


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _clip_start(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else "…" + text[-(SUMMARY_CHARS - 1) :]


@require_POST
@dashboard_login_required
def session_follow_up(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    _require_control(request)
    session = selectors.get_session_for(request.user, session_id)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, session, form, status=400)
    try:
        services.send_message(
            session=session, actor=request.user, content=form.cleaned_data["content"]
        )
    except services.SessionStateError as exc:
        # Keep what the user typed: they may send it once the turn is over.
        form.add_error(None, str(exc))
        session.refresh_from_db()
        return _render_detail(request, session, form, status=409)
    # It describes the turn the message started: the page drops it when that turn is over.
    messages.success(request, "Message sent; the session is running again.", extra_tags="turn-ends")
    return redirect("sessions:detail", session_id=session.pk)


@require_POST
@dashboard_login_required
def session_stop(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    _require_control(request)
    session = selectors.get_session_for(request.user, session_id)
    form = StopForm(request.POST)
    if not form.is_valid():
        # Nothing stopped: the page comes back with the dialog open on the reason's error.
        return _render_detail(request, session, FollowUpForm(), status=400, stop_form=form)
    try:
        services.stop_session(
            session=session, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except services.SessionStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Session stopped.")
    return redirect("sessions:detail", session_id=session.pk)


@require_http_methods(["GET", "POST"])
@dashboard_login_required
def session_hook_config(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """What to paste into `.claude/settings.json` to attach a Claude Code. The token is shown
    only right after it is issued: POST here rotates it (admins and the session's creator)."""
    _require_control(request)
    session = selectors.get_session_for(request.user, session_id)
    if request.method == "GET":
        return _render_hook_config(request, session)
    if not (request.user.is_org_admin or session.created_by_id == request.user.pk):
        raise PermissionDenied("Only organization admins and the session's creator may.")
    try:
        token = services.rotate_hook_token(session=session, actor=request.user)
    except services.SessionStateError as exc:
        messages.error(request, str(exc))
        return redirect("sessions:hook-config", session_id=session.pk)
    return _render_hook_config(request, session, token=token)


def _render_hook_config(request: HttpRequest, session: Session, token: str = "") -> HttpResponse:
    base_url = settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")
    config = hook_config.describe(session=session, base_url=base_url, token=token)
    blocks = {
        key: json.dumps(config[key], indent=2)
        for key in ("http_settings", "command_settings")
        if key in config
    }
    if "telemetry_env" in config:
        blocks["telemetry_env"] = "\n".join(
            f"export {name}={shlex.quote(value)}" for name, value in config["telemetry_env"].items()
        )
    context = {"session": session, "config": config, "hooks_url": config.get("url", ""), **blocks}
    return render(request, "sessions/session_hook_config.html", context)
