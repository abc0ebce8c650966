"""A mailbox for a served demo: mail to members lands in files in the demo home.

Members sign in to the privacy center with a code sent by e-mail, so a demo
needs somewhere for that mail to go. When ``aiosmtpd`` is installed (``make
demo`` installs it with the development tools), ``mamori demo --serve``
starts an SMTP server on loopback that writes each message it receives to
``<home>/mailbox/NNNN.eml`` and points ``MAMORI_SMTP_URL`` at it. Without it,
or with ``MAMORI_SMTP_URL`` already set, mail goes where the settings say.
The demo's people are synthetic, so their mail may rest in plain files.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Writer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(mode=0o700, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        number = len(list(self.folder.glob("*.eml"))) + 1
        (self.folder / f"{number:04d}.eml").write_bytes(envelope.original_content or b"")
        return "250 Message accepted for delivery"


def start(home: Path) -> tuple[Any, str] | None:
    """Start the demo's SMTP server; its controller and URL, or None without aiosmtpd."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        return None
    port = free_port()
    controller = Controller(_Writer(home / "mailbox"), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, f"smtp://127.0.0.1:{port}"
