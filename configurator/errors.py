"""Named errors that carry an HTTP status and the problems a message needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (a JSON pointer and a path a person can read) and what."""

    pointer: str
    path: str
    message: str
    severity: str = "error"

    def as_dict(self) -> dict[str, str]:
        """The problem as plain JSON-ready values."""
        return asdict(self)


@dataclass
class ConfiguratorError(Exception):
    """Base for every error the product explains to a person."""

    message: str
    problems: list[Problem] = field(default_factory=list)
    status = 400

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [
            f"  - {p.path or p.pointer or '(document)'}: {p.message}" for p in self.problems
        ]
        return "\n".join(lines)


class BadRequest(ConfiguratorError):
    """The request itself could not be read."""


class NotFound(ConfiguratorError):
    """What was asked for does not exist, or is not yours to see."""

    status = 404


class Forbidden(ConfiguratorError):
    """You are known, but may not do this."""

    status = 403


class SchemaInvalid(ConfiguratorError):
    """An option schema broke the meta-schema or a semantic check."""

    status = 422


class DesignInvalid(ConfiguratorError):
    """An attendee's design broke its compiled schema or a cross-record rule."""

    status = 422


class ImportFailed(ConfiguratorError):
    """A schedule file could not be imported."""

    status = 422


class SeatTaken(ConfiguratorError):
    """The last seat went to someone else; the waitlist is offered."""

    status = 409


class WindowClosed(ConfiguratorError):
    """The design window is closed, or confirmed designs may no longer change."""

    status = 409


class Conflict(ConfiguratorError):
    """The request clashes with the current state (a duplicate, a stale version)."""

    status = 409


class TooManyAttempts(ConfiguratorError):
    """Too many attempts from one address or client; wait before trying again."""

    status = 429


class Busy(ConfiguratorError):
    """The database could not take this change in time (locks held by many others); retry."""

    status = 503


class SchemaBehind(ConfiguratorError):
    """The database's schema is older than the code: `configurator init` has not run."""

    status = 503
