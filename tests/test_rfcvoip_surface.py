"""Every private member of rfcvoip that the SIP adapter (ivr/sip/) touches, listed, with the
parameters it is called or overridden with. rfcvoip is pinned (pyproject.toml); a new
release that drops or changes one of these fails here, naming it, before a call does.

The list is also checked against the adapter's source: touching a private member of
the library that is not listed here fails too, so the list stays whole.
"""

from __future__ import annotations

import ast
import inspect
import re
from importlib import metadata
from pathlib import Path

import pytest
import rfcvoip.VoIP.VoIP as voip_module
from rfcvoip.RTP import RTPClient
from rfcvoip.SIP import SIPClient
from rfcvoip.SIPTransport import SIPTransport
from rfcvoip.VoIP import VoIPCall, VoIPPhone

ADAPTER = Path(__file__).resolve().parent.parent / "ivr" / "sip"
#: The one module that imports rfcvoip (the import contract in pyproject.toml).
LIBRARY_MODULE = ADAPTER / "library.py"
PINNED = "2.10.3"

#: Methods (class, name) -> their parameters: name, "=" for a default, "*" before
#: keyword-only ones. Overridden or called by the adapter (fix numbers in its docstring).
METHODS: dict[tuple[type, str], str] = {
    (VoIPPhone, "_callback_MSG_Cancel"): "(self, request)",  # the Reason of a ring group (issue 20)
    (VoIPPhone, "_callback_MSG_Invite"): "(self, request)",
    (VoIPPhone, "_default_audio_offer"): "(self)",
    (VoIPPhone, "_get_call"): "(self, call_id)",
    (VoIPPhone, "_invite_targets_local_account"): "(self, request)",
    (VoIPPhone, "_remove_call"): "(self, call_id, *, expected=)",
    (VoIPPhone, "_run_call_callback"): "(callback, call, delay=)",
    (VoIPPhone, "_set_call"): "(self, call_id, call)",
    (VoIPCall, "_finalize_ended_call"): "(self)",
    (VoIPCall, "_rtp_clients_snapshot"): "(self)",
    (VoIPCall, "_rtp_media_answer_map"): "(self, *, start_clients=)",
    (VoIPCall, "_set_state"): "(self, state)",
    (VoIPCall, "_stop_rtp_clients"): "(self)",
    (SIPClient, "_SIPClient__register"): "(self)",
    (SIPClient, "_build_response"): (
        "(self, request, status, *, to_header=, body=, content_type=, contact=, "
        "contact_header=, supported=, warning=, extra_headers=)"
    ),
    (SIPClient, "_cancel_pending_register_thread"): "(self)",
    (SIPClient, "_message_from_raw"): "(self, raw)",
    (SIPClient, "_send_register_request"): "(self, request, *, action)",
    (SIPClient, "_sip_target_from_uri"): "(uri, default_port=)",
    (SIPClient, "_udp_send_fallback_target"): "(self, target)",
    (SIPClient, "_wait_for_transaction_response"): "(self, request, *, action)",
    (RTPClient, "_build_rtp_packet"): "(self, payload_type, payload, *, marker, timestamp)",
    (RTPClient, "_codec_adapter"): "(self, codec, payload_type=, *, receive=)",
    (RTPClient, "_send_rtp_packet"): "(self, payload_type, payload, *, marker, timestamp)",
    (RTPClient, "_socket_address"): "(self, host, port)",
}
#: Attributes set in the library's own code (its __init__ or a method) and read or
#: replaced by the adapter.
ATTRIBUTES: dict[type, tuple[str, ...]] = {
    # threads and registerThread are public, but SipPhone.stop() joins them (issue 16).
    VoIPPhone: ("_outbound_call_creation_depth", "_status", "threads"),
    SIPClient: ("_register_cancel_event", "registerThread"),
    RTPClient: (
        "_dtmf_lock",
        "_pending_dtmf",
        "_socket_family",
        "_socket_lock",
        "_telephone_event_pt",
    ),
}
#: Private functions of rfcvoip.VoIP.VoIP the adapter imports.
FUNCTIONS = {
    "_media_port_is_enabled": "(media)",
    "_media_rtp_targets": "(request, media, baseport)",
    "_media_transmit_type": "(media, default=)",
    "_media_uses_supported_rtp_profile": "(media)",
    "_negotiate_local_transmit_type": "(remote_type, desired_type)",
    "_payload_type_from_media_method": "(media, method)",
}
LIBRARY_CLASSES = (VoIPPhone, VoIPCall, SIPClient, RTPClient, SIPTransport)


def _shape(function: object) -> str:
    parts, star = [], False
    for parameter in inspect.signature(function).parameters.values():  # type: ignore[arg-type]
        if parameter.kind is parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        elif parameter.kind is parameter.VAR_POSITIONAL:
            star = True
        default = "" if parameter.default is parameter.empty else "="
        prefix = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}.get(
            parameter.kind, ""
        )
        parts.append(f"{prefix}{parameter.name}{default}")
    return "(" + ", ".join(parts) + ")"


def _source(cls: type) -> str:
    return "\n".join(
        inspect.getsource(base) for base in cls.__mro__ if base.__module__.startswith("rfcvoip")
    )


def test_rfcvoip_is_the_version_the_adapter_was_written_against() -> None:
    assert metadata.version("rfcvoip") == PINNED, (
        f"rfcvoip {metadata.version('rfcvoip')} is installed; the adapter's fixes were written "
        f"against {PINNED} (pyproject.toml pins it): run this test and tests/sip before moving it"
    )


@pytest.mark.parametrize(("owner", "name"), list(METHODS), ids=lambda v: getattr(v, "__name__", v))
def test_every_private_method_the_adapter_touches_is_there(owner: type, name: str) -> None:
    member = getattr(owner, name, None)
    assert callable(member), f"rfcvoip {owner.__name__}.{name} is gone: ivr/sip/ uses it"
    assert _shape(member) == METHODS[owner, name], (
        f"rfcvoip {owner.__name__}.{name} changed its parameters: "
        f"{_shape(member)}, the adapter was written for {METHODS[owner, name]}"
    )


@pytest.mark.parametrize(
    ("owner", "name"),
    [(owner, name) for owner, names in ATTRIBUTES.items() for name in names],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_every_private_attribute_the_adapter_touches_is_set_by_the_library(
    owner: type, name: str
) -> None:
    assert re.search(rf"self\.{re.escape(name)}\b", _source(owner)), (
        f"rfcvoip {owner.__name__} no longer sets self.{name}: ivr/sip/ uses it"
    )


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_every_private_function_the_adapter_imports_is_there(name: str) -> None:
    function = getattr(voip_module, name, None)
    assert callable(function), f"rfcvoip.VoIP.VoIP.{name} is gone: ivr/sip/library.py imports it"
    assert _shape(function) == FUNCTIONS[name], (
        f"rfcvoip.VoIP.VoIP.{name} changed its parameters: {_shape(function)}, "
        f"the adapter was written for {FUNCTIONS[name]}"
    )


def test_the_list_names_every_private_member_the_adapter_touches() -> None:
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in sorted(ADAPTER.glob("*.py"))]
    nodes = [node for tree in trees for node in ast.walk(tree)]
    used = {
        node.attr
        for node in nodes
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.endswith("__")
    }
    used |= {  # methods of the library's classes overridden in the adapter's subclasses
        node.name
        for node in nodes
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("_")
        and not node.name.endswith("__")
    }
    used |= {
        alias.name
        for node in nodes
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rfcvoip")
        for alias in node.names
        if alias.name.startswith("_")
    }
    sources = {cls: _source(cls) for cls in LIBRARY_CLASSES}
    library = {
        name
        for name in used
        if name in FUNCTIONS
        or any(hasattr(cls, name) for cls in LIBRARY_CLASSES)
        or any(re.search(rf"self\.{re.escape(name)}\b", text) for text in sources.values())
    }
    listed = {name for _, name in METHODS} | set(FUNCTIONS)
    listed |= {name for names in ATTRIBUTES.values() for name in names}
    assert library - listed == set(), (
        f"ivr/sip/ touches private rfcvoip members not listed here: {sorted(library - listed)}"
    )


def test_one_module_of_the_adapter_imports_rfcvoip() -> None:
    importers = sorted(
        path.name
        for path in ADAPTER.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rfcvoip"))
        or (
            isinstance(node, ast.Import)
            and any(alias.name.split(".")[0] == "rfcvoip" for alias in node.names)
        )
    )
    assert set(importers) == {LIBRARY_MODULE.name}, (
        f"rfcvoip is imported by {importers} in ivr/sip/: only {LIBRARY_MODULE.name} may"
    )
