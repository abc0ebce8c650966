"""A real HTTP receiver on loopback for webhook tests.

It answers ``fail_status`` to the first ``fail_first`` posts and 200 after,
can wait ``delay_s`` before answering (a slow system), and can be stopped and
started again on the same port (a system that is down, then back). Every post
is recorded with its headers and raw body.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.dsr.smtp import free_port


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    port: int
    fail_first: int = 0
    fail_status: int = 500
    delay_s: float = 0.0
    posts: list[Post] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/mamori"

    @property
    def delivered(self) -> list[Post]:
        """The posts answered 2xx: what Mamori counts as confirmed."""
        with self._lock:
            return [p for p in self.posts if 200 <= p.answered < 300]

    def ids(self) -> Counter[str]:
        """How many 2xx answers each webhook id received."""
        return Counter(p.headers["Mamori-Webhook-Id"] for p in self.delivered)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self.fail_status if len(self.posts) < self.fail_first else 200
            self.posts.append(Post(path, headers, body, status))
        return status

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status = receiver.answer(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Go down: nothing listens on the port until ``start`` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


@contextmanager
def running_receiver(
    *, fail_first: int = 0, fail_status: int = 500, delay_s: float = 0.0, up: bool = True
) -> Iterator[Receiver]:
    """A receiver on a free loopback port; ``up=False`` leaves it down until ``start``."""
    receiver = Receiver(free_port(), fail_first, fail_status, delay_s)
    if up:
        receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
