"""The agent's Prometheus metrics, on a registry the composition root owns.

Calls in progress and ended by disposition, time from INVITE to answer and rings
heard (histograms: the three-ring rule, seeds 客服中心接待岗位工作质量标准 2), the
caller's RTP loss and jitter (RFC 3550 A.3, A.8, from ivr/rtp_stats.py), and SIP
requests the SIP layer refused (ivr/sip_gate.py, RFC 4475 section 3; untrusted sources;
unusable offers) by status code, told by the SIP layer itself (SipPhone on_refused), and
the media plane's faults (issue 17): RTP sender processes restarted, calls whose media
failed and were ended (`MediaFaults`, read from the phone when scraped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from recorder.calls import RtpStats

NS = "hotline_agent"
#: Rings are whole numbers: one bucket each, the rule's limit (3) among them.
RING_BUCKETS = (0, 1, 2, 3, 4, 5)
ANSWER_BUCKETS = (0.5, 1, 2, 3, 5, 7, 9, 11, 13, 15, 20, 30)
JITTER_BUCKETS = (1, 2, 5, 10, 20, 40, 80, 160)


class AgentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        ProcessCollector(registry=registry)  # CPU, memory, open files of this process
        self.calls_in_progress = Gauge(
            "calls_in_progress", "Calls from INVITE to end", namespace=NS, registry=registry
        )
        self.calls = Counter(
            "calls", "Calls ended, by disposition", ["disposition"], namespace=NS, registry=registry
        )
        self.answer_seconds = Histogram(
            "answer_seconds",
            "Seconds from the INVITE to the answer (the agent's or staff's)",
            namespace=NS,
            registry=registry,
            buckets=ANSWER_BUCKETS,
        )
        self.rings = Histogram(
            "rings",
            "Rings the caller heard before the answer",
            namespace=NS,
            registry=registry,
            buckets=RING_BUCKETS,
        )
        self.rtp_received = Counter(
            "rtp_received_packets",
            "RTP packets received from callers",
            namespace=NS,
            registry=registry,
        )
        self.rtp_lost = Counter(
            "rtp_lost_packets",
            "RTP packets callers sent that never arrived (RFC 3550 A.3)",
            namespace=NS,
            registry=registry,
        )
        self.rtp_jitter_ms = Histogram(
            "rtp_jitter_ms",
            "Interarrival jitter of each call's incoming RTP at its end (RFC 3550 A.8), ms",
            namespace=NS,
            registry=registry,
            buckets=JITTER_BUCKETS,
        )
        self.sip_refused = Counter(
            "sip_refused_messages",
            "SIP requests the SIP layer refused or dropped, by status code",
            ["code"],
            namespace=NS,
            registry=registry,
        )

    def refused(self, code: int) -> None:
        """The SIP layer refused a request (ivr/sip: the gate, an untrusted source, a bad
        offer); called by it directly (`SipPhone(on_refused=...)`)."""
        self.sip_refused.labels(code=str(code)).inc()

    def rtp(self, stats: RtpStats) -> None:
        self.rtp_received.inc(stats.packets_received)
        self.rtp_lost.inc(stats.packets_lost)
        if stats.packets_received:
            self.rtp_jitter_ms.observe(stats.jitter_ms)


class MediaFaults(Collector):
    """The phone's media faults as counters (the phone counts them: SipPhone.media_faults):
    `rtp_sender_restarts` (the media process died and was started again) and
    `media_fault_calls` (calls ended because their media failed: each also an ERROR line)."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        faults = self._read()
        yield CounterMetricFamily(
            f"{NS}_rtp_sender_restarts",
            "RTP sender (media) processes found dead and started again",
            value=faults.get("sender_restarts", 0),
        )
        yield CounterMetricFamily(
            f"{NS}_media_fault_calls",
            "Calls ended by the agent because their media failed (the media process died)",
            value=faults.get("stream_faults", 0),
        )

    @classmethod
    def attach(cls, metrics: AgentMetrics, read: Callable[[], dict[str, int]]) -> MediaFaults:
        collector = cls(read)
        metrics.registry.register(collector)
        return collector
