"""Invitation links: a new member sets their own password through a link mailed to them.

The token is Django's password-reset token (`default_token_generator`): it is derived from
the user's password hash and last log-in, so it stops working once the password is set,
and after PASSWORD_RESET_TIMEOUT. Nothing about it is stored."""

from __future__ import annotations

import logging

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .models import User

logger = logging.getLogger(__name__)


def invite_link(user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("org-manage:invite-accept", kwargs={"uidb64": uid, "token": token})
    return base_url.rstrip("/") + path


def invited_user(uidb64: str, token: str) -> User | None:
    """The active user the link was made for, if the link still holds."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
        user = User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, User.DoesNotExist):
        return None
    return user if default_token_generator.check_token(user, token) else None


def send_invitation(user: User, link: str, *, inviter: User) -> None:
    """Mail the link (after the member's row committed). A failure is logged, not raised:
    the member exists and an admin can send a new link from the members page."""
    organization = user.organization
    body = (
        f"{inviter.get_username()} added you to {organization} on claude-orchestrator as "
        f"{user.get_role_display().lower()} (user name: {user.get_username()}).\n\n"
        f"Set your password here:\n{link}\n\n"
        "The link works once and expires; ask an admin of the organization for a new one."
    )
    try:
        send_mail(f"You are invited to {organization}", body, None, [user.email])
    except Exception:
        logger.exception("invitation mail to user=%s failed", user.pk)
