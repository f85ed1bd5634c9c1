"""The git sources a session may start from, and how git is made to reach only them.

Every URL passes the same rules, however it was given (`owner/name` under GIT_BASE_URL or a
URL): `https` on a host in GIT_ALLOWED_HOSTS whose every address is global (a host in
GIT_ALLOWED_PRIVATE_HOSTS may resolve to loopback or private addresses), or `file://` inside
GIT_FILE_ROOTS and never inside DATA_DIR. Everything else (ssh, git, plain http, scp-like
`user@host:path`, `ext::` and other remote helpers) is refused. The rules run when a session
is created (a 400 before anything is written) and again when it is cloned, where the checked
addresses are handed to git so that it connects to them and to nothing a second DNS answer
says (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from tenants.validators import is_inside, server_folders

OWNER_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# `transport::address` makes git run a remote helper (`ext::sh -c ...` runs a command).
_REMOTE_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)
RESOLVE_TIMEOUT = 10.0  # seconds; a resolver that hangs must not hold a request forever
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="git-source-resolve")


class SourceRefused(ValueError):
    """A source that breaks a rule; the message names the rule and is shown to the user."""


class HostUnresolvable(Exception):
    """DNS gave no answer for an allowed host (checked again, strictly, at clone time)."""


@dataclass(frozen=True)
class GitSource:
    url: str  # what git is given: for file://, the resolved path
    protocol: str  # "https" or "file": the only value of GIT_ALLOW_PROTOCOL for this clone
    host: str = ""
    port: int = 0
    # The checked addresses git must connect to; empty for file:// and IP literals.
    addresses: tuple[str, ...] = ()

    @property
    def pinned(self) -> str:
        """The `http.curloptResolve` entry that makes git connect to the checked addresses."""
        if not self.addresses:
            return ""
        listed = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
        return f"{self.host}:{self.port}:{listed}"


def check_git_source(value: str, *, require_resolution: bool = True) -> GitSource:
    """`value` (owner/name or a URL) checked against every source rule, or SourceRefused.

    `require_resolution=False` (creating a session) lets a host DNS cannot answer for now
    pass: its addresses are checked when the clone runs, which needs them anyway."""
    value = value.strip()
    if not value:
        raise SourceRefused("Give the repository as owner/name or as an https URL.")
    if not value.isascii() or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise SourceRefused(
            "Give the repository as owner/name or as an https URL, in ASCII, without spaces or "
            "control characters."
        )
    if OWNER_NAME.match(value) and not value.endswith((".", "..")):
        return check_git_source(repository_url(value), require_resolution=require_resolution)
    if _REMOTE_HELPER.match(value):
        raise _protocol_refused("remote helpers (transport::address)")
    if not _HAS_SCHEME.match(value):
        raise _protocol_refused("scp-like user@host:path addresses" if ":" in value else None)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise SourceRefused(f"{value!r} is not a URL git could use.") from None
    scheme = parts.scheme.lower()
    if scheme == "https":
        value = "https" + value[len(parts.scheme) :]  # one spelling for GIT_ALLOW_PROTOCOL
        return _check_https(value, parts, require_resolution=require_resolution)
    if scheme == "file":
        return _check_file(parts)
    raise _protocol_refused(f"{scheme}:// sources")


def repository_url(owner_name: str) -> str:
    return f"{settings.GIT_BASE_URL}/{owner_name.removesuffix('.git')}.git"


def _protocol_refused(what: str | None) -> SourceRefused:
    refused = f"{what} are refused; " if what else ""
    return SourceRefused(
        f"Protocol rule: {refused}give owner/name, an https:// URL on a host in "
        "GIT_ALLOWED_HOSTS, or a file:// URL inside GIT_FILE_ROOTS (ssh, git, plain http and "
        "scp-like addresses are not allowed)."
    )


# --- https --------------------------------------------------------------------------------


def _check_https(value: str, parts, *, require_resolution: bool) -> GitSource:
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise SourceRefused(
            "Credentials rule: a repository URL may not carry a user or password; "
            "an organization admin sets the organization's git credential instead."
        )
    host = _canonical_host(parts)
    try:
        port = parts.port or 443
    except ValueError:
        raise SourceRefused(f"{value!r} has no valid port.") from None
    if ".." in parts.path.split("/"):
        raise SourceRefused("A repository URL may not contain '..'.")
    literal = _ip_literal(host)
    if literal is not None:
        # An address written out has no DNS to rebind: check it, and git connects to it.
        _require_global(host, [literal])
    _require_allowed_host(host)
    if literal is not None:
        return GitSource(url=value, protocol="https", host=host, port=port)
    try:
        addresses = resolve(host, port)
    except HostUnresolvable:
        if require_resolution:
            raise
        return GitSource(url=value, protocol="https", host=host, port=port)
    _require_global(host, [ipaddress.ip_address(a) for a in addresses])
    return GitSource(url=value, protocol="https", host=host, port=port, addresses=addresses)


def _canonical_host(parts) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise SourceRefused("The repository URL names no host.")
    if _ip_literal(host) is not None:
        return str(ipaddress.ip_address(host))
    # inet_aton reads 2130706433, 0x7f.1 and 127.1 as 127.0.0.1: a name that is an address
    # in disguise is refused, so every address is checked in the one form above.
    try:
        socket.inet_aton(host)
    except OSError:
        pass
    else:
        raise SourceRefused(f"{host!r} is an address in disguise; write it as a.b.c.d.")
    if not _DNS_NAME.match(host):
        raise SourceRefused(f"{host!r} is not a host name.")
    return host


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _require_allowed_host(host: str) -> None:
    allowed = {h.lower().rstrip(".") for h in settings.GIT_ALLOWED_HOSTS}
    if host not in allowed:
        raise SourceRefused(
            f"GIT_ALLOWED_HOSTS rule: {host} is not an allowed git host "
            f"(allowed: {', '.join(sorted(allowed)) or 'none'})."
        )


def _require_global(host: str, addresses) -> None:
    if host in {h.lower().rstrip(".") for h in settings.GIT_ALLOWED_PRIVATE_HOSTS}:
        return
    for address in addresses:
        kind = non_global_kind(address)
        if kind:
            raise SourceRefused(
                f"Private address rule: {host} is {address}, a {kind} address; only hosts in "
                "GIT_ALLOWED_PRIVATE_HOSTS may resolve to loopback, link-local or private "
                "addresses."
            )


def non_global_kind(address) -> str:
    """What makes an address unfit for a clone ("loopback", "private", ...); "" if global."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return non_global_kind(address.ipv4_mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", address.version == 6 and address.is_site_local),
        ("non-global", not address.is_global),
    )
    return next((kind for kind, applies in checks if applies), "")


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address `host` resolves to, or HostUnresolvable."""
    future = _resolver.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        answers = future.result(timeout=RESOLVE_TIMEOUT)
    except (OSError, UnicodeError, FutureTimeout) as exc:
        raise HostUnresolvable(f"Could not resolve the git host {host}.") from exc
    # An IPv6 answer may carry a zone (fe80::1%eth0); the address is what gets checked.
    addresses = tuple(dict.fromkeys(info[4][0].split("%", 1)[0] for info in answers))
    if not addresses:
        raise HostUnresolvable(f"Could not resolve the git host {host}.")
    return addresses


# --- file ---------------------------------------------------------------------------------


def _check_file(parts) -> GitSource:
    if parts.netloc or parts.query or parts.fragment or "%" in parts.path:
        raise SourceRefused("A file:// URL is file:///absolute/path, nothing else.")
    raw = Path(parts.path)
    if not raw.is_absolute() or ".." in raw.parts:
        raise SourceRefused("A file:// URL takes an absolute path without '..'.")
    try:
        resolved = raw.resolve()  # follows symlinks: a link leading out is judged by its target
    except (OSError, RuntimeError):  # a loop of links
        raise SourceRefused("The file:// path cannot be resolved.") from None
    if inside_server_folders(resolved):
        raise SourceRefused(f"file:// sources: {SERVER_FOLDERS_RULE}")
    roots = [Path(root).resolve() for root in settings.GIT_FILE_ROOTS]
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise SourceRefused(
            "GIT_FILE_ROOTS rule: file:// sources must be inside GIT_FILE_ROOTS"
            + ("." if roots else ", which is empty: file:// sources are off on this server.")
        )
    return GitSource(url=resolved.as_uri(), protocol="file")


SERVER_FOLDERS_RULE = (
    "DATA_DIR rule: no source may be inside DATA_DIR (the database, every session's "
    "workspace and Claude state live there)."
)


def inside_server_folders(resolved: Path) -> bool:
    """True for a (resolved) path in the server's own data, whoever's it is."""
    return any(is_inside(resolved, folder) for folder in server_folders())
