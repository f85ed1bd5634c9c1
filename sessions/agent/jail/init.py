"""The jail's first process: the agent's only way out, then Claude Code.

The jail has a network namespace of its own with nothing but loopback. This process (run by
the jail's own /usr/bin/python3, standard library only) listens on loopback ports inside the
jail and carries each connection to a Unix socket that the runner serves outside: the model
endpoint and the egress proxy. Then it runs Claude Code, hands it the signals it gets, and
exits with its status.

    python3 -I init.py --forward 8765=/run/orchestrator/model.sock -- /opt/claude/claude ...
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading

BUFFER = 65536


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(BUFFER):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                end.shutdown(how)


def _bridge(client: socket.socket, path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def _serve(port: int, path: str) -> None:
    server = socket.create_server(("127.0.0.1", port))

    def accept() -> None:
        while True:
            client, _ = server.accept()
            threading.Thread(target=_bridge, args=(client, path), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def _parse(argv: list[str]) -> tuple[list[tuple[int, str]], list[str]]:
    split = argv.index("--")
    forwards, options = [], argv[:split]
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag != "--forward":
            raise SystemExit(f"init: unknown option {flag}")
        port, _, path = value.partition("=")
        forwards.append((int(port), path))
    return forwards, argv[split + 1 :]


def main(argv: list[str]) -> int:
    forwards, command = _parse(argv)
    for port, path in forwards:
        _serve(port, path)
    child = subprocess.Popen(command)
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda signum, _frame: child.send_signal(signum))
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
