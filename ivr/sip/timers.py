"""SIP transaction timers (RFC 3261 17): every retransmission is a step on the phone's
one scheduler (ivr.flow_timers.ThreadScheduler, shared with the call flow's timers),
not a thread that sleeps for it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ivr.flow_timers import Scheduler, TimerHandle

logger = logging.getLogger(__name__)
#: RFC 3261 17.2.1: the 200 OK to an INVITE is resent at T1, doubling to T2,
#: until the ACK arrives; without an ACK after 64 x T1 the call is ended.
T1, T2 = 0.5, 4.0
#: A REGISTER transaction gives up after 0.5 + 1 + 2 + 4 s; the next one follows with back-off.
REGISTER_GIVE_UP = 7.5


class Retransmission:
    """Resend a message at T1, doubling to T2, until `done()`; `give_up(waited)` once
    64 x T1 has passed unanswered (RFC 3261 17.1.2.2, 17.2.1). `finished()` runs once
    either way. Each step runs on the scheduler's thread: it must not block (a send on
    UDP does not)."""

    def __init__(
        self,
        scheduler: Scheduler,
        send: Callable[[], None],
        done: Callable[[], bool],
        give_up: Callable[[float], None],
        finished: Callable[[], None] = lambda: None,
    ) -> None:
        self._scheduler = scheduler
        self._send, self._done, self._give_up, self._finished = send, done, give_up, finished
        self.interval, self.waited = T1, 0.0
        self._handle: TimerHandle | None = None

    def start(self) -> Retransmission:
        self._handle = self._scheduler.call_later(self.interval, self._step)
        return self

    def _step(self) -> None:
        try:
            if self._done():
                self._finished()
                return
            self.waited += self.interval
            self._send()
            self.interval = min(self.interval * 2, T2)
            if self.waited >= 64 * T1:
                self._give_up(self.waited)
                self._finished()
                return
        except Exception:
            self._finished()
            raise
        self._handle = self._scheduler.call_later(self.interval, self._step)
