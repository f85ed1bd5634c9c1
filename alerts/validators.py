"""What a channel's configuration may hold: per kind, its public fields and its one secret."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from tenants.json_rules import HostileValue, check

from .choices import ChannelKind
from .transports import TransportError, check_webhook_url

# kind -> (public fields, the secret's field name)
FIELDS = {
    ChannelKind.SLACK: (("channel",), "token"),
    ChannelKind.PAGERDUTY: ((), "routing_key"),
    ChannelKind.EMAIL: (("to",), None),
    ChannelKind.WEBHOOK: (("url",), "secret"),
}
MAX_RECIPIENTS = 20


def _error(message: str) -> ValidationError:
    return ValidationError({"config": message})


def split_config(kind: str, config: object, *, has_secret: bool) -> tuple[dict, str | None]:
    """(public config, new secret or None to keep the stored one) of a channel of `kind`; a
    ValidationError naming the field otherwise. `has_secret`: one is stored already, so a
    change may leave it out."""
    if kind not in FIELDS:
        raise ValidationError({"kind": f"Unknown kind; one of: {', '.join(FIELDS)}."})
    if not isinstance(config, dict):
        raise _error("config is a JSON object.")
    try:
        check(config, "config")
    except HostileValue as exc:
        raise _error(str(exc)) from None
    public_fields, secret_field = FIELDS[kind]
    unknown = sorted(set(config) - {*public_fields, secret_field} - {None})
    if unknown:
        raise _error(f"config.{unknown[0]}: unknown for a {kind} channel.")
    public = {name: _clean(kind, name, config.get(name)) for name in public_fields}
    secret = config.get(secret_field) if secret_field else None
    if secret_field and secret is None and not has_secret:
        raise _error(f"config.{secret_field}: required for a {kind} channel.")
    if secret is not None and (not isinstance(secret, str) or not 8 <= len(secret) <= 500):
        raise _error(f"config.{secret_field}: a string of 8 to 500 characters.")
    return public, secret


def _clean(kind: str, name: str, value: object):
    if name == "to":
        return _recipients(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 2000:
        raise _error(f"config.{name}: required, a string of up to 2000 characters.")
    if name == "url":
        try:
            check_webhook_url(value)
        except TransportError as exc:
            raise _error(f"config.url: {exc.message}") from None
    return value.strip()


def _recipients(value: object) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_RECIPIENTS:
        raise _error(f"config.to: a list of 1 to {MAX_RECIPIENTS} email addresses.")
    validate = EmailValidator()
    for index, address in enumerate(value):
        try:
            if not isinstance(address, str):
                raise ValidationError("not a string")
            validate(address)
        except ValidationError:
            raise _error(f"config.to[{index}]: not an email address.") from None
    return list(dict.fromkeys(value))
