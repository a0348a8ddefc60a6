"""The agent's SIP adapter: rfcvoip (pyVoIP's maintained successor) behind ivr.phone.

Everything else in hotline talks to `SipPhone` and `SipCall` (ivr.phone's Phone and
Call); one module here, ivr/sip/library.py, imports rfcvoip. What is
still wrong in rfcvoip 2.10 for a service desk is fixed here, each fix
documented and tested (tests/sip/):

0. It never sends 100 Trying, so a caller's INVITE is retransmitted until
   180 Ringing: a new INVITE gets 100 Trying at once.
1. The library waits a hard-coded 1 s after an INVITE before telling the
   application (`_run_call_callback(delay=1.0)`): we take the call at once
   and ring for the configured number of rings ourselves.
2. `start()` always registers: in direct mode (a trunk or PBX sends INVITEs
   straight here) registration is switched off.
3. It prints to stdout (`print()` with DEBUG off): its `debug` hook is routed
   into `logging`.
4. `deny()` can only answer 486: an untrusted source in direct mode gets 403
   Forbidden (`SipCall.forbid`).
6. Its 200 OK to an INVITE is sent once: it is resent until the ACK arrives
   (RFC 3261 timers; BYE after 32 s without one).
5. Its Call-IDs are sha256 of a per-process counter, so they repeat after
   every restart (RFC 3261 8.1.1.4 wants them globally unique): they are
   random (uuid4) instead.
8-11. See docs/sip-library.md: a message it chokes on, trust by datagram
   source, unusable media addresses (488), a Contact that is no SIP URI (400).
12. It accepts and offers every codec it has (opus, G.711.1 wideband): an
   opus-only offer was answered with opus, which the 8 kHz recorder cannot
   take. Only the configured G.711 laws and telephone-event are negotiated.
13. Its Allow header names SUBSCRIBE and NOTIFY, which the agent answers 501
   or 481: Allow lists the methods it answers.
14. A re-INVITE that takes a call off hold (a=sendrecv after a=sendonly) was
   answered a=recvonly: the direction was negotiated against the last answer
   instead of what the agent wants. The answer's o= version goes up when the
   SDP changes (RFC 3264 8).
15. Record-Route is not copied into 18x/2xx and the BYE it sends goes
   straight to the Contact without Route (RFC 3261 12.1.1, 12.2.1.1).
16. The BYE it sends is sent once: it is resent until answered (RFC 3261 17.1.2).
17. It reads 8 KB of a datagram and drops what it cannot parse unanswered:
   whole datagrams are read, a request over 16 KB gets 513 and a request it
   cannot parse or handle gets 400.
18. It re-registers 5 s before the expiry it asked for, whatever the
   registrar granted, and stops the phone for good after three failed
   REGISTERs (a registrar restart left the agent deaf): the granted expiry
   is honoured and failures are retried with back-off for as long as it runs.
19. A bridge inherits the send queue's backlog: `SipCall.live_audio()` drops it.
20. It runs one transmitter thread per call, each sleeping on its own: at 50
   calls on two cores they wake late and skip packets (drift 0.45 %, gaps of
   47 ms). No transmitter thread is started; the phone's one `RtpPacer`
   (ivr/rtp_pacer.py) sends every call's packets on absolute deadlines,
   catching up when late, key presses (RFC 4733) included.
23. It answers an INVITE for any user but its own 404 and rings for its own,
   and rings an untrusted source before the agent can refuse it: SIPVicious's
   svwar told the agent's extension from every other by that. A new INVITE
   from a source the agent does not admit gets 403 before anything else, and
   an admitted one is the agent's call whatever user it names (a trunk dials
   the desk's public number, not the agent's user name).
24. It drops the final status of an INVITE the agent sent once the call has
   failed (`_callback_RESP_Failed`): a clerk's phone that answers 486 looked
   like one that never answered. The status (>= 300) is kept per Call-ID
   (`_ClientFixes._response_seen`, also for a final answer that arrives while
   `call()` still waits for the first one) and shown as `SipCall.final_status`.
25. It measures nothing of what it receives, and its receiver polls the
   socket every 10 ms, which would add up to 10 ms to each packet's arrival.
   The receiver waits on the socket (select), stamps each packet's arrival on
   the monotonic clock and feeds it to RFC 3550 receive statistics
   (ivr/rtp_stats.py): `SipCall.rtp_stats()` gives packets received, lost
   and the interarrival jitter for the call log.
27. It always sends 20 ms packets, whatever the far end's a=ptime asks for
   (RFC 4566 6: the packet time the receiver wants). A stream is sent in the
   offer's (or answer's) ptime when G.711 can: 10 to 60 ms in whole 10 ms.
28. (Beyond fix 20.) Under load the pacer thread still woke late, waiting for
   the interpreter lock: gaps of up to 32 ms at 50 calls. The packets are
   built 10 ms ahead and a child process (ivr/rtp_sender.py) sends each at
   its deadline from a duplicate of the call's socket (`sip.rtp_sender`).
29. The ACK and BYE of a call the agent placed (to a clerk) go straight to
   the far end's Contact without Route: through a proxy that record-routes,
   they carry the 2xx's Record-Route reversed and go to its first hop
   (RFC 3261 12.1.2, 13.2.2.4).
30. It keeps a dialog tag per call for as long as it runs, in a dict and in a
   list every new tag is checked against (a scan that grows with every call):
   the list keeps the newest 4096, and a call's tag leaves both 32 s (64*T1)
   after the call.

31-36. Hostile input (issue 15, docs/hostile-input.md): SDP fields that reach a
   socket or a number checked at the parse (488; ivr/sdp_check.py), a stream fault
   ends only its call and the RTP sender process is supervised (ivr/rtp_pacer.py);
   no name resolution on the receive thread, responses to the request's source
   (ivr/sip_resolve.py); stray responses and foreign in-dialog requests dropped;
   audio+video answered with m=video 0; every datagram judged by ivr/sip_gate.py
   before the library (RFC 4475 section 3), replies without control octets; memory
   given back when idle (ivr/memory.py).
37. It answers 481 to a second CANCEL of an INVITE it already cancelled (Kamailio sends
   one to a ring group's losing branch, docs/ring-groups.md): the INVITE's transaction
   lives 64*T1 after its 487, so it gets 200 OK (RFC 3261 9.2, 17.2.1).

Audio crosses this boundary as 8 kHz 16-bit signed little-endian mono; the
library converts to and from PCMU/PCMA, the adapter's pacer sends the RTP.

Modules, by concern (docs/architecture.md):

- library.py: the one import of rfcvoip, and what is changed in it at import (fix 3);
- user_agent.py: the VoIPPhone subclass, a new INVITE and CANCEL (fixes 0, 1, 12, 14, 23);
- offer.py: what an INVITE's SDP offers and where its media goes (fixes 9-12, 27, 34);
- call.py: SipCall, one call as the agent sees it (fixes 4, 6, 10, 11, 19, 24, 25, 31);
- media.py: the RTP clients the one pacer sends (fixes 20, 25, 27, 28, 31);
- client.py: the wrappers on the live SIPClient (fixes 8, 13, 14, 17, 24, 30, 33-35, 37);
- routing.py: where messages go, the BYE until answered (fixes 15, 16, 29, 32);
- registration.py: REGISTER and its refresh (fixes 2, 17, 18);
- dialogs.py: the 2xx until its ACK, offers in a 2xx (fixes 6, 21, 22);
- timers.py: T1, T2 and the retransmissions, steps on the phone's one scheduler;
- threads.py: the threads started per call, joined by SipPhone.stop();
- sip_phone.py: SipPhone, what the composition root builds.
"""

from ivr.phone import FRAME_BYTES
from ivr.sip.call import Endpoint, SipCall, unique_call_id, wait_until_ended
from ivr.sip.offer import packet_time_ms
from ivr.sip.sip_phone import SipError, SipPhone

__all__ = [
    "FRAME_BYTES",
    "Endpoint",
    "SipCall",
    "SipError",
    "SipPhone",
    "packet_time_ms",
    "unique_call_id",
    "wait_until_ended",
]
