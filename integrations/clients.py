"""The providers' REST APIs, as far as the integrations use them: a comment on a pull (merge)
request, its later edits, and opening a pull (merge) request. The base URL is the
integration's `api_url` (https://api.github.com, GitHub Enterprise's /api/v3, GitLab's
/api/v4), so a test server stands in exactly where production's API is; it is checked against
private addresses before every call, like alerting's webhooks."""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from django.conf import settings

from sessions.workspaces.sources import HostUnresolvable, non_global_kind, resolve
from tenants import encryption

from .choices import Provider


class ApiError(Exception):
    """The provider's API refused or could not be reached; the message is safe to show."""


def check_api_url(url: str) -> None:
    """ApiError unless the URL may be called: https (http only for an allow-listed host), no
    user or password, and a host that resolves to global addresses only unless it is in
    INTEGRATION_ALLOWED_PRIVATE_HOSTS. Checked when saved and before each call (DNS may
    answer differently later; a rebinding between this check and the connect is the accepted
    gap, as for alerting's webhooks)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError("api_url is an https:// URL with a host.")
    if parts.username or parts.password:
        raise ApiError("api_url carries no user or password; give the API token instead.")
    host = parts.hostname.lower().rstrip(".")
    allowed = {h.lower().rstrip(".") for h in settings.INTEGRATION_ALLOWED_PRIVATE_HOSTS}
    if host in allowed:
        return
    if parts.scheme != "https":
        raise ApiError(
            "api_url is https:// (plain http only for INTEGRATION_ALLOWED_PRIVATE_HOSTS)."
        )
    try:
        addresses = resolve(host, parts.port or 443)
    except (HostUnresolvable, ValueError):
        raise ApiError(f"The API host {host} does not resolve.") from None
    for address in addresses:
        kind = non_global_kind(ipaddress.ip_address(address))
        if kind:
            raise ApiError(
                f"The API host {host} is {address}, a {kind} address; only hosts in "
                "INTEGRATION_ALLOWED_PRIVATE_HOSTS may be."
            )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class ProviderApi:
    """One integration's API: its base URL and token."""

    def __init__(self, integration) -> None:
        self.base = integration.api_url.rstrip("/")
        self.repository = integration.repository
        self.token = _token_of(integration)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        url = self.base + path
        check_api_url(url)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers())
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=settings.INTEGRATION_API_TIMEOUT) as response:
                raw = response.read(1_000_000)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            exc.close()
            raise ApiError(f"{method} {path} answered {exc.code} {detail}".strip()) from None
        except (OSError, ValueError) as exc:
            raise ApiError(f"{method} {path}: unreachable ({exc})") from None
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(f"{method} {path} answered something that is not JSON.") from None
        return answer if isinstance(answer, dict) else {}

    def headers(self) -> dict:
        raise NotImplementedError

    def check_repository(self) -> str:
        """Read the repository with the token: its name as the provider knows it."""
        raise NotImplementedError

    def create_comment(self, number: int, body: str) -> str:
        raise NotImplementedError

    def update_comment(self, number: int, comment_id: str, body: str) -> None:
        raise NotImplementedError

    def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> str:
        raise NotImplementedError


class GitHubApi(ProviderApi):
    """REST: POST /repos/{o}/{r}/issues/{n}/comments, PATCH /repos/{o}/{r}/issues/comments/{id},
    POST /repos/{o}/{r}/pulls."""

    def headers(self) -> dict:
        return {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "User-Agent": "claude-orchestrator",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def _repo(self) -> str:
        owner, _, name = self.repository.partition("/")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def check_repository(self):
        return str(self.call("GET", self._repo()).get("full_name") or "")

    def create_comment(self, number, body):
        answer = self.call("POST", f"{self._repo()}/issues/{int(number)}/comments", {"body": body})
        return str(answer.get("id") or "")

    def update_comment(self, number, comment_id, body):
        self.call("PATCH", f"{self._repo()}/issues/comments/{int(comment_id)}", {"body": body})

    def open_pull_request(self, *, head, base, title, body):
        answer = self.call(
            "POST",
            f"{self._repo()}/pulls",
            {"head": head, "base": base, "title": title, "body": body},
        )
        return str(answer.get("html_url") or answer.get("number") or "")


class GitLabApi(ProviderApi):
    """REST: POST /projects/{path}/merge_requests/{iid}/notes, PUT .../notes/{id},
    POST /projects/{path}/merge_requests."""

    def headers(self) -> dict:
        return {
            "Content-Type": "application/json",
            "PRIVATE-TOKEN": self.token,
            "User-Agent": "claude-orchestrator",
        }

    def _project(self) -> str:
        return f"/projects/{quote(self.repository, safe='')}"

    def check_repository(self):
        return str(self.call("GET", self._project()).get("path_with_namespace") or "")

    def create_comment(self, number, body):
        path = f"{self._project()}/merge_requests/{int(number)}/notes"
        return str(self.call("POST", path, {"body": body}).get("id") or "")

    def update_comment(self, number, comment_id, body):
        path = f"{self._project()}/merge_requests/{int(number)}/notes/{int(comment_id)}"
        self.call("PUT", path, {"body": body})

    def open_pull_request(self, *, head, base, title, body):
        answer = self.call(
            "POST",
            f"{self._project()}/merge_requests",
            {"source_branch": head, "target_branch": base, "title": title, "description": body},
        )
        return str(answer.get("web_url") or answer.get("iid") or "")


APIS = {Provider.GITHUB: GitHubApi, Provider.GITLAB: GitLabApi}


def api_for(integration) -> ProviderApi:
    return APIS[integration.provider](integration)


def _token_of(integration) -> str:
    if not integration.api_token_encrypted:
        raise ApiError("The integration has no API token; set one to comment on pull requests.")
    try:
        return encryption.decrypt(integration.api_token_encrypted)
    except encryption.SecretUnreadable as exc:
        raise ApiError(str(exc)) from None
