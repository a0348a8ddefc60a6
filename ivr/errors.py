"""The errors of the phone agent.

HotlineError            (recorder.errors) the root every package derives from
├── ConfigError         (recorder.errors) a wrong flow, schedule or voice setting
└── IvrError            anything in ivr/ the operator sees
    ├── SipError        (ivr.sip.sip_phone) the SIP library failed: bind, register, send
    └── PromptError     (ivr.prompts) a prompt cannot be synthesised or read
"""

from __future__ import annotations

from recorder.errors import ConfigError, HotlineError

__all__ = ["ConfigError", "HotlineError", "IvrError"]


class IvrError(HotlineError):
    """An error of the phone agent, one line for the operator."""
