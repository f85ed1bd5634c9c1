"""Production settings: with DEBUG off, `manage.py check --deploy` finds nothing, plain HTTP
is redirected to HTTPS unless the TLS proxy's header (SECURE_PROXY_SSL_HEADER) says https."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client

MANAGE_PY = Path(__file__).resolve().parents[1] / "manage.py"


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "orchestrator.example.com",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_debug_off():
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_notices_what_the_defaults_prevent():
    # The check can fail: turning a default off shows up (so the clean run above means it).
    result = deploy_check(SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0")
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


def test_a_malformed_proxy_header_setting_is_refused_at_start():
    result = deploy_check(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER is 'HEADER,value'" in result.stderr


@pytest.mark.django_db
def test_plain_http_is_redirected_unless_the_tls_proxy_says_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get("/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"
    proxied = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"].startswith("max-age=3600")
