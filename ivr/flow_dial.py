"""Ringing the duty roster one clerk at a time: who is left, who rings, how each ended.

Bookkeeping only, no I/O and no actions: `ivr.flow.CallFlow` asks it whom
to ring next and turns the answers into Dial/DropLeg/Bridge actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ivr.flow_config import Choice, Transfer
from ivr.script import ScriptContent


@dataclass(frozen=True)
class Clerk:
    """Someone the flow can ring: a clerk on the duty roster, or the on-call engineer."""

    extension: str
    user_id: int | None = None
    name: str = ""


class Dialler:
    """The transfer in progress for one call (首问责任制: the first clerk owns a message)."""

    def __init__(
        self,
        transfer: Transfer,
        choice: Choice,
        clerks: Sequence[Clerk],
        first_receiver: Clerk | None,
    ) -> None:
        self.transfer = transfer
        self.choice = choice
        self.first_receiver = first_receiver
        self.leg: str | None = None
        self.clerk: Clerk | None = None
        self.tried: list[dict[str, Any]] = []
        self._waiting = list(clerks)
        self._legs = 0

    @property
    def message_category(self) -> str:
        """The category of the message taken when nobody answered."""
        return self.choice.category or self.transfer.message_category

    def ring_next(self) -> Clerk | None:
        """The next clerk to ring (now `self.clerk` on `self.leg`), or None: all tried."""
        if not self._waiting:
            return None
        self._legs += 1
        self.leg, self.clerk = f"leg-{self._legs}", self._waiting.pop(0)
        return self.clerk

    def is_ringing(self, leg: str) -> bool:
        return self.leg is not None and leg == self.leg

    def ended(self, result: str) -> Clerk:
        """Note how the ringing leg ended ("answered", "busy", "no_answer")."""
        clerk = self.clerk
        assert clerk is not None, "no leg is ringing"
        self.tried.append(
            {"extension": clerk.extension, "user_id": clerk.user_id, "result": result}
        )
        if result != "answered":
            self.leg = self.clerk = None
        return clerk

    def whisper(self, content: ScriptContent, unit: str | None) -> str:
        """What the clerk hears on answering, e.g. 来电：报修，3栋2单元501."""
        category = self.choice.category
        if category:
            label = content.categories.by_key(category).label
        else:
            label = self.transfer.whisper_default
        text = content.prompt(self.transfer.whisper_prompt, category=label, unit=unit or "")
        return text.rstrip("，,：: ")
