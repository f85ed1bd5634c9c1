"""Writes of the integrations: the only place that changes an integration, records a delivery
or moves a pull request's session along. Each write is one transaction with its audit event;
HTTP calls to the providers and queued work happen after commit (integrations.dispatch)."""

from __future__ import annotations

import logging
import re
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import ValidationError as ApiValidationError

from sessions import services as session_services
from sessions.api.serializers import SessionSerializer
from sessions.choices import SessionStatus
from sessions.models import Session
from sessions.workspaces.sources import SourceRefused, check_git_source
from templates import launch as template_launch
from templates import selectors as template_selectors
from templates import services as template_services
from tenants import encryption, json_rules
from tenants.models import User
from tenants.quotas import QuotaExceeded
from tenants.services import record_audit

from . import dispatch, report
from .choices import (
    DEFAULT_API_URL,
    DEFAULT_MENTION,
    IntegrationAuditAction,
    Outcome,
    Provider,
    TriggerKind,
)
from .clients import ApiError, api_for, check_api_url
from .events import Ignored, Trigger
from .models import Delivery, Integration, PullRequestThread

logger = logging.getLogger(__name__)

GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
GITLAB_PROJECT = re.compile(
    r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.][A-Za-z0-9_.-]*){1,20}$"
)
HANDLE = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9_.-]{0,38}$")
SECRET_MIN, SECRET_MAX, TOKEN_MAX = 16, 200, 500
TRIGGER_KEYS = ("pull_request", "ci_failure", "mention")


class DeliveryReplayed(Exception):
    """A delivery with this key was handled already (answered 200, "already handled")."""


# --- configuration ---------------------------------------------------------------------------


def create_integration(
    *,
    actor: User,
    provider: str,
    repository: str,
    webhook_secret: str = "",
    api_token: str = "",
    api_url: str = "",
    clone_url: str = "",
    triggers: dict | None = None,
    enabled: bool = True,
) -> Integration:
    """A new integration of the actor's organization. Without a webhook secret one is made;
    either way it is on `integration.new_webhook_secret`, the one time it can be read."""
    _require_admin(actor)
    if provider not in Provider.values:
        raise ValidationError({"provider": [f"provider is one of {', '.join(Provider.values)}."]})
    fields = {
        "provider": provider,
        "repository": _check_repository(provider, repository),
        "api_url": _check_api_url(api_url or DEFAULT_API_URL[provider]),
        "clone_url": _check_clone_url(clone_url),
        "enabled": bool(enabled),
        **_check_triggers(actor, triggers if triggers is not None else {}),
    }
    secret = _check_secret(webhook_secret) if webhook_secret else secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            integration = Integration.objects.create(
                organization=actor.organization,
                created_by=actor,
                webhook_secret_encrypted=encryption.encrypt(secret),
                api_token_encrypted=encryption.encrypt(_check_token(api_token))
                if api_token
                else "",
                **fields,
            )
            _audit(IntegrationAuditAction.CREATED, actor, integration, {"provider": provider})
    except IntegrityError:
        raise ValidationError(
            {"repository": [f"This organization already has an integration for {repository}."]}
        ) from None
    integration.new_webhook_secret = secret
    return integration


def update_integration(*, integration: Integration, actor: User, **changes) -> Integration:
    """Change what was given: the triggers merge key by key; a secret or token given replaces
    the stored one (left out: kept)."""
    _require_admin(actor, integration)
    fields: dict = {}
    if "repository" in changes:
        fields["repository"] = _check_repository(integration.provider, changes["repository"])
    if "api_url" in changes:
        fields["api_url"] = _check_api_url(
            changes["api_url"] or DEFAULT_API_URL[integration.provider]
        )
    if "clone_url" in changes:
        fields["clone_url"] = _check_clone_url(changes["clone_url"])
    if "enabled" in changes:
        fields["enabled"] = bool(changes["enabled"])
    if "triggers" in changes:
        current = triggers_of(integration)
        given = changes["triggers"]
        if not isinstance(given, dict):
            raise ValidationError({"triggers": ["triggers is an object."]})
        fields.update(_check_triggers(actor, {**current, **given}))
    if changes.get("webhook_secret"):
        fields["webhook_secret_encrypted"] = encryption.encrypt(
            _check_secret(changes["webhook_secret"])
        )
    if changes.get("api_token"):
        fields["api_token_encrypted"] = encryption.encrypt(_check_token(changes["api_token"]))
    try:
        with transaction.atomic():
            locked = Integration.objects.select_for_update().get(pk=integration.pk)
            for name, value in fields.items():
                setattr(locked, name, value)
            if actor.is_org_admin and not _may_launch(locked.created_by, locked):
                locked.created_by = actor  # the one who set it up is gone: this admin takes over
            locked.save()
            shown = sorted(k.replace("_encrypted", "") for k in fields)
            _audit(IntegrationAuditAction.CHANGED, actor, locked, {"changed": shown})
    except IntegrityError:
        raise ValidationError(
            {"repository": ["This organization already has an integration for that repository."]}
        ) from None
    return locked


def delete_integration(*, integration: Integration, actor: User) -> None:
    _require_admin(actor, integration)
    with transaction.atomic():
        _audit(
            IntegrationAuditAction.DELETED,
            actor,
            integration,
            {"repository": integration.repository},
        )
        integration.delete()


def test_integration(*, integration: Integration, actor: User) -> str:
    """Check that the API is reachable with the token and sees the repository; the answer
    says what the provider said (raises ApiError otherwise). Writes nothing."""
    _require_admin(actor, integration)
    name = api_for(integration).check_repository()
    shown = name or integration.repository
    return f"{integration.get_provider_display()} answered: {shown} is reachable."


def triggers_of(integration: Integration) -> dict:
    return {
        "pull_request": integration.pull_request_template or None,
        "ci_failure": integration.ci_failure_template or None,
        "mention": integration.mention_handle or None,
    }


def webhook_secret_of(integration: Integration) -> str:
    return encryption.decrypt(integration.webhook_secret_encrypted)


def _require_admin(actor: User, integration: Integration | None = None) -> None:
    """An organization's admins configure its integrations; operators (superusers, in the
    console) may change or remove any, but create none (an integration acts as its creator)."""
    if integration is not None and actor.is_superuser:
        return
    if not actor.is_org_admin or (
        integration is not None and integration.organization_id != actor.organization_id
    ):
        raise PermissionDenied("Only an organization's admins configure its integrations.")


def _check_text(field: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError({field: [f"{field} is text of at most {limit} characters."]})
    try:
        json_rules.check_text(value, field)
    except json_rules.HostileValue as exc:
        raise ValidationError({field: [str(exc)]}) from None
    return value.strip()


def _check_repository(provider: str, value: object) -> str:
    value = _check_text("repository", value, 300)
    pattern = GITHUB_REPOSITORY if provider == Provider.GITHUB else GITLAB_PROJECT
    if not pattern.match(value) or ".." in value:
        shape = "owner/name" if provider == Provider.GITHUB else "the project's path (group/name)"
        raise ValidationError({"repository": [f"repository is {shape}."]})
    return value


def _check_api_url(value: object) -> str:
    value = _check_text("api_url", value, 500).rstrip("/")
    try:
        check_api_url(value)
    except ApiError as exc:
        raise ValidationError({"api_url": [str(exc)]}) from None
    return value


def _check_clone_url(value: object) -> str:
    """Blank, or a source the sessions' rules take (checked again at every launch)."""
    value = _check_text("clone_url", value, 500)
    if value:
        try:
            check_git_source(value, require_resolution=False)
        except SourceRefused as exc:
            raise ValidationError({"clone_url": [str(exc)]}) from None
    return value


def _check_secret(value: object) -> str:
    if not isinstance(value, str) or not SECRET_MIN <= len(value) <= SECRET_MAX:
        raise ValidationError(
            {"webhook_secret": [f"webhook_secret is {SECRET_MIN} to {SECRET_MAX} characters."]}
        )
    _check_text("webhook_secret", value, SECRET_MAX)
    return value


def _check_token(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > TOKEN_MAX:
        raise ValidationError({"api_token": [f"api_token is 1 to {TOKEN_MAX} characters."]})
    _check_text("api_token", value, TOKEN_MAX)
    return value.strip()


def _check_triggers(actor: User, triggers: object) -> dict:
    if not isinstance(triggers, dict):
        raise ValidationError({"triggers": ["triggers is an object."]})
    unknown = sorted(set(triggers) - set(TRIGGER_KEYS))
    if unknown:
        raise ValidationError(
            {
                "triggers": [
                    f"Unknown trigger {', '.join(map(str, unknown))}; the triggers are "
                    f"{', '.join(TRIGGER_KEYS)}."
                ]
            }
        )
    fields = {}
    for key, column in (
        ("pull_request", "pull_request_template"),
        ("ci_failure", "ci_failure_template"),
    ):
        slug = triggers.get(key)
        if slug in (None, ""):
            fields[column] = ""
            continue
        if not isinstance(slug, str) or len(slug) > 60:
            raise ValidationError({"triggers": [f"triggers.{key} is a template slug or null."]})
        try:
            template_selectors.get_template_for(actor, slug, archived=False)
        except Http404:
            raise ValidationError(
                {"triggers": [f"triggers.{key}: no template {slug!r} you can launch."]}
            ) from None
        fields[column] = slug
    handle = triggers.get("mention", DEFAULT_MENTION)
    if handle in (None, ""):
        fields["mention_handle"] = ""
    elif not isinstance(handle, str) or not HANDLE.match(handle):
        raise ValidationError({"triggers": ["triggers.mention is a handle like @claude, or null."]})
    else:
        fields["mention_handle"] = handle
    return fields


def _audit(action: str, actor: User | None, integration: Integration, details: dict) -> None:
    record_audit(
        action=action,
        actor=actor,
        organization=integration.organization,
        target=integration,
        details=details,
    )


# --- deliveries ----------------------------------------------------------------------------


def record_refused(*, integration: Integration, event: str, delivery_key: str) -> Delivery:
    """A delivery whose signature did not verify: logged, never acted on or deduped."""
    return Delivery.objects.create(
        organization_id=integration.organization_id,
        integration=integration,
        delivery_key=delivery_key,
        event=event,
        signature_ok=False,
        outcome=Outcome.REFUSED,
        detail="The signature did not verify with the integration's secret.",
        handled_at=timezone.now(),
    )


def receive_delivery(
    *,
    integration: Integration,
    delivery_key: str,
    event: str,
    action: str = "",
    found: Trigger | Ignored | None = None,
    outcome: str = "",
) -> Delivery:
    """Record a verified delivery; a Trigger is queued for the background after commit.
    DeliveryReplayed when this key was recorded before."""
    trigger = found if isinstance(found, Trigger) else None
    if not outcome:
        outcome = Outcome.QUEUED if trigger else Outcome.IGNORED
    detail = found.reason if isinstance(found, Ignored) else ""
    if outcome == Outcome.QUEUED and not integration.enabled:
        outcome, trigger = Outcome.IGNORED, None
        detail = "The integration is disabled."
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                organization_id=integration.organization_id,
                integration=integration,
                delivery_key=delivery_key,
                event=event,
                action=action[:100],
                signature_ok=True,
                outcome=outcome,
                detail=detail,
                trigger=trigger.as_json() if trigger else {},
                handled_at=None if trigger else timezone.now(),
            )
            Integration.objects.filter(pk=integration.pk).update(last_delivery_at=timezone.now())
            if trigger:
                dispatch.after_commit("handle_delivery", delivery.pk, integration.organization_id)
    except IntegrityError:
        raise DeliveryReplayed(delivery_key) from None
    return delivery


def redeliver(*, delivery: Delivery, actor: User) -> Delivery:
    """Run a recorded delivery's trigger again (a new delivery row, keyed after the old)."""
    integration = delivery.integration
    _require_admin(actor, integration)
    if not delivery.trigger:
        raise ValidationError({"delivery": ["This delivery carried nothing to act on."]})
    with transaction.atomic():
        again = Delivery.objects.create(
            organization_id=integration.organization_id,
            integration=integration,
            delivery_key=f"redeliver-{secrets.token_hex(8)}",
            event=delivery.event,
            action=delivery.action,
            signature_ok=True,
            outcome=Outcome.QUEUED,
            detail=f"Redelivery of {delivery.pk}.",
            trigger=delivery.trigger,
        )
        _audit(
            IntegrationAuditAction.REDELIVERED, actor, integration, {"delivery": str(delivery.pk)}
        )
        dispatch.after_commit("handle_delivery", again.pk, integration.organization_id)
    return again


def handle_delivery(*, delivery_id) -> Delivery:
    """The background half of a delivery: start the pull request's session, or continue it.
    The delivery row is locked and marked handled in the same transaction as the work, so a
    second run of the task (a worker lost mid-task) does nothing. A failure (no template
    variable, a quota, a source refused) is recorded on the delivery with its reason."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                delivery = (
                    Delivery.objects.select_for_update(of=("self",))
                    .select_related("integration")
                    .get(pk=delivery_id)
                )
                if delivery.handled_at is not None:
                    return delivery
                trigger = Trigger.from_json(delivery.trigger)
                outcome, detail, thread = _act(delivery.integration, trigger)
                _mark_handled(delivery, outcome, detail, thread)
            return delivery
        except IntegrityError:
            # Two first deliveries of one pull request at once: the other made the thread.
            if attempt == 2:
                raise
        except (
            ValidationError,
            ApiValidationError,
            PermissionDenied,
            Http404,
            QuotaExceeded,
            template_services.TemplateStateError,
            session_services.SessionStateError,
        ) as exc:
            failure = _reason(exc)
            break
        except Exception:
            # Logged with its traceback; the log row says so rather than staying "queued".
            logger.exception("integrations: delivery %s failed", delivery_id)
            failure = "An internal error stopped it (logged)."
            break
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.handled_at is None:
            _mark_handled(delivery, Outcome.FAILED, failure, None)
    return delivery


def _mark_handled(delivery: Delivery, outcome: str, detail: str, thread) -> None:
    delivery.outcome, delivery.detail = outcome, detail[:2000]
    delivery.thread = thread
    delivery.session_id = thread.session_id if thread else None
    delivery.handled_at = timezone.now()
    delivery.save(update_fields=["outcome", "detail", "thread", "session", "handled_at"])


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError | ApiValidationError):
        detail = getattr(exc, "message_dict", None) or getattr(exc, "detail", None) or exc.messages
        return f"The session could not start: {detail}"
    return f"The session could not start: {exc}"


def _act(integration: Integration, trigger: Trigger) -> tuple[str, str, PullRequestThread | None]:
    """Inside the delivery's transaction: the PR's thread locked, then started or continued."""
    thread = (
        PullRequestThread.objects.select_for_update(of=("self",))
        .select_related("session")
        .filter(integration=integration, number=trigger.number)
        .first()
    )
    if thread is None or thread.session.status in (SessionStatus.STOPPED, SessionStatus.ERROR):
        return _start(integration, trigger, thread)
    return _continue(integration, trigger, thread)


def _start(integration, trigger, thread) -> tuple[str, str, PullRequestThread | None]:
    slug = integration.template_for(trigger.kind)
    if not slug:
        what = TriggerKind(trigger.kind).label.lower()
        return Outcome.IGNORED, f"No template is set for '{what}'; nothing started.", None
    session = _launch(integration, trigger, slug)
    if thread is None:
        thread = PullRequestThread.objects.create(
            organization_id=integration.organization_id,
            integration=integration,
            number=trigger.number,
            title=trigger.title,
            branch=trigger.branch,
            session=session,
        )
    else:  # its session ended in error or was stopped: a fresh one, and a fresh comment
        thread.session, thread.comment_id, thread.pending = session, "", []
        thread.title, thread.branch = trigger.title or thread.title, trigger.branch or thread.branch
        thread.save()
    dispatch.after_commit("post_start_comment", thread.pk, integration.organization_id)
    return Outcome.STARTED, f"Started session {session.pk} from {slug}.", thread


def _launch(integration: Integration, trigger: Trigger, slug: str) -> Session:
    """The template's session, as POST /api/sessions/from-template makes it, as the
    integration's creator. It continues with every later event, so the template's auto-close
    is taken off."""
    actor = _launcher(integration)
    template = template_selectors.get_template_for(actor, slug, archived=False)
    version = template_selectors.latest_version(template)
    declared = {v["name"] for v in version.config.get("variables", [])}
    variables = {
        k: v for k, v in trigger.template_variables(integration.repository).items() if k in declared
    }
    fields = template_launch.session_request(
        version,
        source={"github_repo": clone_source(integration), "git_ref": trigger.branch},
        variables=variables,
        overrides={
            "name": f"{integration.repository} #{trigger.number} {trigger.title}"[:200].strip(),
            "metadata": {"autoClose": None},
        },
    )
    if trigger.kind == TriggerKind.MENTION and trigger.comment:
        fields["initial_prompt"] = f"{fields['initial_prompt']}\n\n{trigger.follow_up()}".strip()
    checked = SessionSerializer(data=fields)
    checked.is_valid(raise_exception=True)
    return template_services.launch_session(
        version=version, actor=actor, fields=checked.validated_data, variables=variables
    )


def _may_launch(user: User | None, integration: Integration) -> bool:
    return (
        user is not None
        and user.is_active
        and user.organization_id == integration.organization_id
        and user.can_control_sessions
    )


def _launcher(integration: Integration) -> User:
    """Who the session is: the integration's creator while they may still start sessions in
    its organization (never one who moved elsewhere: their session would be another's)."""
    actor = integration.created_by
    if not _may_launch(actor, integration):
        raise PermissionDenied(
            "The admin who set up this integration can no longer start sessions here; an "
            "admin saving the integration again takes it over."
        )
    return actor


def clone_source(integration: Integration) -> str:
    """Where the session clones from: the integration's clone URL, else the repository on
    GIT_BASE_URL (GitHub) or on the GitLab host of api_url."""
    if integration.clone_url:
        return integration.clone_url
    if integration.provider == Provider.GITHUB:
        return integration.repository
    host = integration.api_url.split("//", 1)[-1].split("/", 1)[0]
    return f"https://{host}/{integration.repository}.git"


def _continue(integration, trigger, thread) -> tuple[str, str, PullRequestThread]:
    session = thread.session
    message = trigger.follow_up()
    if session.status in (SessionStatus.IDLE, SessionStatus.COMPLETED):
        session_services.send_message(
            session=session, actor=_launcher(integration), content=message
        )
        return Outcome.CONTINUED, f"Sent to session {session.pk} as a new turn.", thread
    # A turn is running (or the workspace is being made): the message waits for its end.
    thread.pending = [*thread.pending, message]
    thread.save(update_fields=["pending", "updated_at"])
    return (
        Outcome.WAITING,
        f"Session {session.pk} is {session.status}; sent when its turn ends.",
        thread,
    )


# --- results back to the pull request -------------------------------------------------------


def record_comment(*, thread_id, comment_id: str = "", error: str = "") -> None:
    fields = {"comment_error": error[:2000]}
    if comment_id:
        fields["comment_id"] = comment_id
    PullRequestThread.objects.filter(pk=thread_id).update(**fields, updated_at=timezone.now())


def post_start_comment(*, thread_id) -> None:
    """The comment that links the live session (made once per session)."""
    thread = PullRequestThread.objects.select_related("integration", "session").get(pk=thread_id)
    if thread.comment_id:
        return
    try:
        comment_id = api_for(thread.integration).create_comment(
            thread.number, report.started(thread.session)
        )
    except ApiError as exc:
        logger.warning("integration %s: comment not made: %s", thread.integration_id, exc)
        record_comment(thread_id=thread.pk, error=str(exc))
        return
    record_comment(thread_id=thread.pk, comment_id=comment_id)


def finish_turn(*, thread_id, turn: dict) -> None:
    """After a turn: hand over what waited for it, open the pull request for pushed changes
    (the create-PR option), then edit the comment with the turn's summary, files changed,
    tokens, cost and duration."""
    try:
        _hand_over_pending(thread_id)
    except (PermissionDenied, session_services.SessionStateError) as exc:
        logger.warning("integrations: pending follow-ups of %s not sent: %s", thread_id, exc)
    thread = PullRequestThread.objects.select_related("integration", "session").get(pk=thread_id)
    if turn.get("pushed_branch"):
        turn = {**turn, **_open_pull_request(thread, turn["pushed_branch"])}
    session = thread.session
    status = "working on a follow-up" if session.status == SessionStatus.RUNNING else session.status
    body = report.finished(session, turn, status=status)
    try:
        api = api_for(thread.integration)
        if thread.comment_id:
            api.update_comment(thread.number, thread.comment_id, body)
            record_comment(thread_id=thread.pk)
        else:
            # The start comment failed (or, rarely, has not been made yet: a turn shorter than
            # the start comment's call; then the PR gets two comments, an accepted race).
            record_comment(thread_id=thread.pk, comment_id=api.create_comment(thread.number, body))
    except ApiError as exc:
        logger.warning("integration %s: comment not edited: %s", thread.integration_id, exc)
        record_comment(thread_id=thread.pk, error=str(exc))


def _hand_over_pending(thread_id) -> None:
    """What arrived during the turn goes to the session as one follow-up, once it is idle.
    The thread is locked as handle_delivery locks it, so nothing is sent twice or lost."""
    with transaction.atomic():
        thread = (
            PullRequestThread.objects.select_for_update(of=("self",))
            .select_related("integration", "session")
            .get(pk=thread_id)
        )
        session = thread.session
        if not thread.pending or session.status not in (
            SessionStatus.IDLE,
            SessionStatus.COMPLETED,
        ):
            return
        content = "\n\n---\n\n".join(thread.pending)
        thread.pending = []
        thread.save(update_fields=["pending", "updated_at"])
        session_services.send_message(
            session=session, actor=_launcher(thread.integration), content=content
        )


def _open_pull_request(thread: PullRequestThread, branch: str) -> dict:
    """Open the pull (merge) request of the pushed branch into the PR's branch, once; later
    turns push to the same branch, which updates it. What the comment should say."""
    if thread.opened_pull_request:
        return {"pull_request": thread.opened_pull_request}
    title = f"claude-orchestrator: changes for #{thread.number} {thread.title}"[:250].strip()
    body = f"Changes made by the session {report.session_link(thread.session)}."
    try:
        opened = api_for(thread.integration).open_pull_request(
            head=branch, base=thread.branch, title=title, body=body
        )
    except ApiError as exc:
        logger.warning("integration %s: pull request not opened: %s", thread.integration_id, exc)
        return {"push_error": f"Pushed {branch}, but the pull request was not opened: {exc}"}
    PullRequestThread.objects.filter(pk=thread.pk).update(
        pushed_branch=branch, opened_pull_request=opened[:500], updated_at=timezone.now()
    )
    return {"pull_request": opened}
