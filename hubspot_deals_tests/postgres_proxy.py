"""A TCP proxy in front of the machine's PostgreSQL that can play an unavailable server.

`outage(mode)` closes every proxied connection, then answers new ones as a PostgreSQL that is
down or restarting would, until `restore()`:
- `refused`: nothing listens (libpq: "Connection refused");
- `reset`: connections are accepted and reset at once (a crashed server or a middlebox);
- `not_accepting`: connections get PostgreSQL's own startup error, FATAL 57P03 "the database
  system is not currently accepting connections" (what a restarting server sends), spoken in
  the wire protocol: SSL and GSS encryption requests declined, then the ErrorResponse.
"""

import contextlib
import socket
import struct
import threading
from collections import Counter

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
NOT_ACCEPTING = "the database system is not currently accepting connections"
MODES = ("forward", "refused", "reset", "not_accepting")


def startup_error(sqlstate: str, message: str) -> bytes:
    """A FATAL ErrorResponse message of PostgreSQL's protocol 3."""
    fields = b"".join(
        code + text.encode() + b"\0"
        for code, text in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = sock.recv(size - len(data))
        if not part:
            raise ConnectionError("client went away")
        data += part
    return data


class PostgresProxy:
    """Forwards a local port to PostgreSQL until `outage()`; `answered` counts the connections
    answered as unavailable, by mode."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.mode = "forward"
        self.answered: Counter[str] = Counter()
        self.dropped = 0  # proxied connections cut by outages
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            mode = self.mode
            if mode in ("reset", "refused"):  # refused: accepted as the listener closed
                self.answered[mode] += 1
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
            elif mode == "not_accepting":
                self.answered[mode] += 1
                threading.Thread(target=self._refuse_startup, args=(client,), daemon=True).start()
            else:
                self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        with self._lock:
            self._sockets.update((client, upstream))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _refuse_startup(client: socket.socket) -> None:
        try:
            client.settimeout(30)
            while True:
                length, code = struct.unpack("!II", _recv_exact(client, 8))
                _recv_exact(client, length - 8)
                if code not in (SSL_REQUEST, GSSENC_REQUEST):
                    break  # the startup packet: the server answers it with its state
                client.sendall(b"N")  # no SSL, no GSS encryption: go on unencrypted
            client.sendall(startup_error("57P03", NOT_ACCEPTING))
        except (OSError, ConnectionError):
            pass
        finally:
            client.close()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _stop_listening(self) -> None:
        if self._listener is not None:
            # shutdown, not just close: it wakes the accepting thread and stops the listening.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def _drop_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
            self.dropped += len(sockets) // 2
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
                s.close()

    def outage(self, mode: str) -> None:
        """From now on, answer as an unavailable server (see the module's docstring)."""
        assert mode in MODES[1:], mode
        self.mode = mode
        self._drop_connections()
        if mode == "refused":
            self._stop_listening()
        elif mode != "refused" and self._listener is None:
            self._listen()

    def restore(self) -> None:
        self.mode = "forward"
        if self._listener is None:
            self._listen()

    def cut(self) -> None:
        """Every connection closed, new ones refused (an outage of the `refused` kind)."""
        self.outage("refused")

    def __enter__(self) -> "PostgresProxy":
        self._listen()
        return self

    def __exit__(self, *exc: object) -> None:
        self.mode = "refused"
        self._stop_listening()
        self._drop_connections()
