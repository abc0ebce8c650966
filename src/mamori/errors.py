"""The one exception tree of Mamori.

Every error a user can cause is a ``MamoriError`` with a stable ``code`` (used by
the CLI's exit message and, later, by the HTTP problem documents), an HTTP-like
``status`` and a one-sentence ``message`` in plain words. Messages never carry a
personal value: they name fields, categories, purposes and ids, never what a
person typed.

    MamoriError
    ├── ConfigError            home, key file or database missing or unusable
    │   └── KeyFileError       key file absent, unreadable, too open, malformed
    ├── PolicyError            the policy file is malformed (carries every problem)
    ├── BadRequest             a request that cannot be understood (a required part missing)
    ├── NotFound               an id that names nothing
    ├── ValidationFailed       a value fails its category's validator
    ├── Conflict               the request contradicts the stored state
    ├── Denied                 the guard refused (see ``mamori.guard.errors``)
    ├── IntegrityError         sealed data does not open, the audit chain is broken
    ├── StorageError           the database refused or is unreachable
    └── RateLimited            too many requests from one address or for one account
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class MamoriError(Exception):
    """Base of every error Mamori raises on purpose."""

    code = "mamori_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields
        # What must outlast the failed unit of work (the refusal's audit entry, a
        # failed-login count): written in a fresh transaction after the rollback.
        self.keep: list[Callable[[Any], None]] = []

    def keeping(self, record: Callable[[Any], None]) -> MamoriError:
        """Attach something to write after the rollback; returns the error for ``raise``."""
        self.keep.append(record)
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: code, message and the extra fields."""
        return {"code": self.code, "message": self.message, **self.fields}


class ConfigError(MamoriError):
    code = "config_error"
    status = 503


class KeyFileError(ConfigError):
    code = "key_file_error"


class PolicyError(MamoriError):
    """The policy file has problems; ``problems`` lists every one of them."""

    code = "policy_invalid"
    status = 422

    def __init__(self, message: str, *, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "problems": [p.to_dict() if hasattr(p, "to_dict") else str(p) for p in self.problems],
        }


class BadRequest(MamoriError):
    code = "bad_request"
    status = 400


class NotFound(MamoriError):
    code = "not_found"
    status = 404


class ValidationFailed(MamoriError):
    code = "validation_failed"
    status = 422


class Conflict(MamoriError):
    code = "conflict"
    status = 409


class Denied(MamoriError):
    """The guard refused an access; ``rule`` names the rule that failed."""

    code = "access_denied"
    status = 403

    def __init__(self, message: str, *, rule: str, **fields: Any) -> None:
        super().__init__(message, rule=rule, **fields)
        self.rule = rule


class IntegrityError(MamoriError):
    code = "integrity_error"
    status = 500


class StorageError(MamoriError):
    code = "storage_error"
    status = 503


class RateLimited(MamoriError):
    code = "rate_limited"
    status = 429


class Unavailable(MamoriError):
    """Something outside Mamori (the mail server, a downstream system) did not answer;
    what was asked is left in a state that can be resumed."""

    code = "unavailable"
    status = 503


class Gone(MamoriError):
    """A link or code that expired or was used already."""

    code = "gone"
    status = 410
