"""Does the login's answer time tell which user names exist? (issue 15, D11)

    .venv/bin/python bench/login_timing.py [--rounds 20]

Wrong passwords for an existing user and for unknown names, through the Flask test
client (no network), alternating; prints the median and p90 of each and their ratio.
Before the fix: 106 ms vs 5 ms. The throttle is set out of the way.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import desk

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = desk.make_app(
            Path(tmp),
            f"sqlite:///{tmp}/hotline.db",
            login_attempts=100,
            login_attempts_per_address=10_000,
            login_attempts_total=100_000,
        )
        with app.sessions.begin() as session:
            desk.seed(session, Path(tmp) / "var" / "recordings")
        client = desk.web(app).test_client()
        times: dict[str, list[float]] = {"existing": [], "unknown": []}
        for n in range(args.rounds):
            for kind, name in (("existing", "clerk"), ("unknown", f"nobody{n}")):
                match = TOKEN.search(client.get("/login").text)
                assert match
                data = {"username": name, "password": "wrong password!", "csrf_token": match[1]}
                start = time.perf_counter()
                status = client.post("/login", data=data).status_code
                times[kind].append((time.perf_counter() - start) * 1000)
                assert status == 401, status
        app.engine.dispose()
    for kind, values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{kind:9} median {statistics.median(values):6.1f} ms  p90 {p90:6.1f} ms")
    ratio = statistics.median(times["unknown"]) / statistics.median(times["existing"])
    print(f"unknown / existing: {ratio:.2f}")


if __name__ == "__main__":
    main()
