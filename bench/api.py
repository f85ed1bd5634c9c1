"""A tiny JSON client for the orchestrator's API (standard library only)."""

from __future__ import annotations

import http.client
import json
from typing import Any

from bench.loadgen import summarize


class ApiError(RuntimeError):
    pass


class Api:
    def __init__(self, host: str, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def get(self, path: str) -> Any:
        return self._call("GET", path, None, 200)

    def post(self, path: str, data: dict, expect: int = 201) -> Any:
        return self._call("POST", path, json.dumps(data).encode(), expect)

    def close(self) -> None:
        self.conn.close()

    def _call(self, method: str, path: str, body: bytes | None, expect: int) -> Any:
        try:
            status, raw = self._send(method, path, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the idle keep-alive connection (uvicorn: after 5 s).
            self.conn.close()
            status, raw = self._send(method, path, body)
        if status != expect:
            raise ApiError(f"{method} {path}: {status} {summarize(raw)}")
        return json.loads(raw)

    def _send(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()
