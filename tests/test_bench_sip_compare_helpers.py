"""The pure SIP helpers of the library comparison bench parse what the probes rely on."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "bench" / "sip_library_compare.py"


def _bench():
    spec = importlib.util.spec_from_file_location("sip_library_compare", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REGISTER = (
    "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
    "From: <sip:clerk@127.0.0.1>;tag=a\r\nTo: <sip:clerk@127.0.0.1>\r\nCall-ID: c1\r\n"
    "CSeq: 7 REGISTER\r\nContact: <sip:clerk@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n"
)


def test_header_and_status_code():
    bench = _bench()
    assert bench.header(REGISTER, "cseq") == "7 REGISTER"
    assert bench.header(REGISTER, "Supported") == ""
    assert bench.status_code(REGISTER) == 0
    assert bench.status_code("SIP/2.0 487 Request Terminated\r\n\r\n") == 487


def test_ok_for_register_echoes_the_transaction():
    bench = _bench()
    ok = bench.ok_for(REGISTER)
    assert bench.status_code(ok) == 200
    assert bench.header(ok, "CSeq") == "7 REGISTER"
    assert bench.header(ok, "To").endswith(";tag=probe")
