"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    url: str
    messages: list[EmailMessage] = field(default_factory=list)

    def last_to(self, address: str) -> EmailMessage:
        for message in reversed(self.messages):
            if address in str(message["To"]):
                return message
        raise AssertionError(f"no message was sent to {address}")

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


class _Keep:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        assert isinstance(parsed, EmailMessage)
        self.box.messages.append(parsed)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_smtp() -> Iterator[Mailbox]:
    port = free_port()
    box = Mailbox(url=f"smtp://127.0.0.1:{port}")
    controller = Controller(_Keep(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
