"""The outbox relay: delivers claimed messages after commit, retrying failures with back-off."""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta

import attrs

from crmcms.engine.ports import UnitOfWorkFactory
from crmcms.errors import CrmcmsError, DeliveryError
from crmcms.model import OutboxMessage

__all__ = ["DeliveryReport", "Relay", "RelaySettings", "relay_owner", "retry_delay"]

log = logging.getLogger("crmcms.outbox")

Deliverer = Callable[[OutboxMessage], None]
"""Delivers one message or raises; a :class:`~crmcms.errors.DeliveryError` with
``permanent=True`` gives the message up at once."""


@attrs.frozen
class RelaySettings:
    """How a relay claims and retries.

    A failed try ``n`` (counting from 1) waits a random time between zero and
    ``min(retry_cap, retry_base * 2 ** (n - 1))`` ("full jitter", so that many messages
    failing together do not come back together), or what the receiver asked for
    (``DeliveryError.retry_after``). After ``max_attempts`` tries a message is dead.
    """

    retry_base: timedelta = timedelta(seconds=10)
    retry_cap: timedelta = timedelta(hours=1)
    max_attempts: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    lease: timedelta = timedelta(minutes=5)
    """How long a claimed message stays its relay's; after that another relay may take it.
    Longer than a delivery ever takes, or two relays deliver the same message."""
    batch: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    """Messages claimed at once."""


def retry_delay(
    attempts: int, settings: RelaySettings, draw: Callable[[], float] = random.random
) -> timedelta:
    """How long to wait after the ``attempts``-th failed try (full jitter, capped)."""
    # In float seconds, the exponent bounded: past the cap it changes nothing, and a
    # timedelta would overflow.
    doubled = settings.retry_base.total_seconds() * 2.0 ** min(max(attempts - 1, 0), 1000)
    ceiling = min(doubled, settings.retry_cap.total_seconds())
    return timedelta(seconds=ceiling * draw())


def relay_owner() -> str:
    """A name for a relay that no other process uses: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@attrs.frozen
class DeliveryReport:
    """What one relay run did, by message id."""

    delivered: tuple[int, ...] = ()
    retried: tuple[int, ...] = ()
    """Failed and scheduled for another try."""
    dead: tuple[int, ...] = ()
    """Given up: a permanent failure, or the last attempt allowed."""
    released: tuple[int, ...] = ()
    """Claimed but handed back untried, because the run was asked to stop."""
    errors: Mapping[int, str] = attrs.field(factory=dict)
    """The failure of each message retried or given up."""

    @property
    def claimed(self) -> int:
        return len(self.delivered) + len(self.retried) + len(self.dead) + len(self.released)


@attrs.frozen
class _Failure:
    error: str
    permanent: bool
    retry_after: float | None = None


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, CrmcmsError) else f"{type(exc).__name__}: {text}"


class Relay:
    """Claims due outbox messages and hands each to its kind's deliverer.

    Each outcome is committed as soon as it is known, one message at a time, so a relay
    that dies loses at most the mark of the message it was delivering: that message is
    delivered again once its lease expires (at least once; receivers drop the repeat by
    its delivery id).
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        deliverers: Mapping[str, Deliverer],
        *,
        clock: Callable[[], datetime],
        settings: RelaySettings | None = None,
        owner: str | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.uow_factory = uow_factory
        self.deliverers = dict(deliverers)
        self.clock = clock
        self.settings = settings or RelaySettings()
        self.owner = owner or relay_owner()
        self.draw = draw

    def run(
        self,
        *,
        limit: int | None = None,
        now: datetime | None = None,
        ids: Collection[int] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> DeliveryReport:
        """Claim up to ``limit`` due messages (the batch size if ``None``; only ``ids`` if
        given) and deliver them. ``now`` fixes the time of the whole run (else the clock is
        read at each step); ``stop`` is asked before each message, and once it says yes the
        rest are released for another relay."""
        settings = self.settings
        at = now or self.clock()
        with self.uow_factory() as uow:
            claimed = uow.outbox.claim(
                self.owner,
                now=at,
                lease=settings.lease,
                limit=settings.batch if limit is None else limit,
                ids=ids,
            )
        outcomes: dict[str, list[int]] = {"delivered": [], "retried": [], "dead": []}
        released: list[int] = []
        errors: dict[int, str] = {}
        for message in claimed:
            if released or (stop is not None and stop()):
                released.append(message.id)
                continue
            failure = self._deliver(message)
            if failure is not None:
                errors[message.id] = failure.error
            outcome = self._settle(message, failure, now or self.clock())
            outcomes[outcome].append(message.id)
        if released:
            with self.uow_factory() as uow:
                for message_id in released:
                    uow.outbox.release(message_id, self.owner)
                uow.commit()
        if outcomes["delivered"]:
            log.info("outbox: %s message(s) delivered", len(outcomes["delivered"]))
        return DeliveryReport(
            tuple(outcomes["delivered"]),
            tuple(outcomes["retried"]),
            tuple(outcomes["dead"]),
            tuple(released),
            errors,
        )

    def _deliver(self, message: OutboxMessage) -> _Failure | None:
        """Hand ``message`` to its kind's deliverer; ``None`` when that succeeded."""
        deliver = self.deliverers.get(message.kind)
        if deliver is None:
            return _Failure(f"no deliverer for outbox messages of kind {message.kind!r}", True)
        try:
            deliver(message)
        except DeliveryError as exc:
            return _Failure(_describe(exc), exc.permanent, exc.retry_after)
        except Exception as exc:
            return _Failure(_describe(exc), False)
        return None

    def _settle(self, message: OutboxMessage, failure: _Failure | None, at: datetime) -> str:
        """Record what became of ``message``, in a transaction of its own so that a relay
        dying later repeats nothing settled; returns the outcome's name."""
        settings = self.settings
        with self.uow_factory() as uow:
            outbox = uow.outbox
            if failure is None:
                outbox.delivered(message.id, at=at)
                outcome = "delivered"
                log.debug("outbox message %s delivered", message.id)
            elif failure.permanent or message.attempts >= settings.max_attempts:
                outbox.dead(message.id, self.owner, error=failure.error)
                outcome = "dead"
                log.error("outbox message %s given up: %s", message.id, failure.error)
            else:
                delay = (
                    timedelta(seconds=failure.retry_after)
                    if failure.retry_after is not None
                    else retry_delay(message.attempts, settings, self.draw)
                )
                outbox.reschedule(
                    message.id, self.owner, available_at=at + delay, error=failure.error
                )
                outcome = "retried"
                log.warning(
                    "outbox message %s failed (attempt %s), next try in %s: %s",
                    message.id,
                    message.attempts,
                    delay,
                    failure.error,
                )
            uow.commit()
        return outcome
