"""RFC 4475 answers per message and PROTOS c07-sip figures for one agent (by hand, not in CI).

    .venv/bin/python bench/torture_conformance.py [--protos all|every:K|none] [--tree DIR]

Runs tests/sip/torture_run.py inside `unshare -n` (loopback only, no DNS answers)
against a fresh `hotline agent` (direct mode, 0 rings, message mode, 1 s recording):
the 50 RFC 4475 messages, each from its own socket with only the top Via rewritten so
the replies come back, then the PROTOS cases (an INVITE and its CANCEL each). Prints
the per-message table (expected by RFC 4475 section 3, tests/sip/rfc4475_expected.py,
against what came back) and the PROTOS figures: tracebacks in the agent's log,
malformed messages the agent sent (tshark), cases that got no reply, RSS of the agent
and its RTP sender before the first case and 40 s after the good call.

`--tree DIR` runs the agent from another checkout (e.g. `git worktree add /tmp/before
f270d42`): the same runner and table, that tree's code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sip.rfc4475_expected import EXPECTED, first_final, verdict  # noqa: E402

SHARED = ROOT.parent / "shared" / "sip-torture"


def run(kind: str, source: Path, tree: Path, extra: list[str], workdir: Path) -> dict:
    from hotline.settings import CONFIG_DIR

    config_dir = workdir / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    port = 5062
    config = workdir / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{workdir / "var"}"\n[sip]\nlisten = "127.0.0.1:{port}"\n'
        "rtp_port_low = 33000\nrtp_port_high = 33400\n[ringing]\nanswer_after_rings = 0\n"
        '[agent]\nmode = "message"\nrecord_seconds = 1.0\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_CONFIG_DIR"] = str(config_dir)
    env["PYTHONPATH"] = str(tree)
    python = sys.executable
    subprocess.run(
        [python, "-m", "hotline", "--config", str(config), "db", "upgrade"],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        timeout=120,
    )
    runner = ROOT / "tests" / "sip" / "torture_run.py"
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    out = subprocess.run(
        [
            *unshare,
            python,
            str(runner),
            str(config),
            str(port),
            kind,
            str(source),
            str(workdir),
            *extra,
        ],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def rfc_table(result: dict) -> None:
    ok = 0
    print("| message | RFC 4475 | RFC expects | agent sent back | verdict |")
    print("|---|---|---|---|---|")
    for name, (section, what, _codes) in EXPECTED.items():
        lines = result["replies"].get(name, [])
        good = verdict(name, lines)
        ok += good
        codes = [line.split(" ", 2)[1] for line in lines if line.startswith("SIP/2.0 ")]
        got = ", ".join(codes[:6]) + (" ..." if len(codes) > 6 else "") if lines else "nothing"
        final = first_final(lines)
        print(
            f"| {name} | {section} | {what} | {got} | {'as RFC' if good else f'DIFFERS ({final})'} |"
        )
    print(f"\nRFC 4475: {ok} of {len(EXPECTED)} as section 3 says")
    print(f"sent elsewhere than the message's socket: {result['elsewhere']}")
    print(f"malformed sent: {len(result['malformed_sent'])}; tracebacks: {result['tracebacks']}")
    print(f"good call after: sipp rc {result['good_call']}")


def protos_figures(result: dict) -> None:
    replies = result["replies"]
    elsewhere = set(result.get("answered_elsewhere", []))
    silent = [n for n, lines in replies.items() if not lines and n not in elsewhere]
    print(f"PROTOS cases sent: {len(replies)} in {result['send_s']} s")
    print(f"tracebacks in the agent's log: {result['tracebacks']}")
    print(
        f"RTP sender restarts: {result['sender_restarts']}; alive at the end: {result.get('sender_alive_end')}"
    )
    print(f"datagrams the agent sent: {result['sent_total']}")
    print(
        f"malformed messages sent: {len(result['malformed_sent'])} {result['malformed_sent'][:3]}"
    )
    print(f"messages with control octets in the header: {result['control_octets_sent']}")
    print(
        f"cases with no reply at all: {len(silent)} {silent[:8]} "
        f"({len(elsewhere)} answered at the port their Via named, not the socket's)"
    )
    print(f"sent elsewhere: {result['elsewhere']}")
    before, after = result["rss_before_kb"], result["rss_after_kb"]
    print(
        f"RSS agent+sender: {before / 1024:.1f} MB before, {after / 1024:.1f} MB after "
        f"({100 * (after - before) / before:+.1f} %)"
    )
    print(f"good call after: sipp rc {result['good_call']} in {result['good_call_s']} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protos", default="all", help="all, every:K or none")
    parser.add_argument("--rfc", default="yes", choices=["yes", "no"])
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--keep", type=Path, help="keep the work directories here")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="torture-"))
    if args.rfc == "yes":
        work = base / "rfc"
        work.mkdir(parents=True, exist_ok=True)
        rfc_table(run("rfc4475", SHARED / "rfc4475", args.tree.resolve(), [], work))
    if args.protos != "none":
        work = base / "protos"
        work.mkdir(parents=True, exist_ok=True)
        extra = [] if args.protos == "all" else ["--every", args.protos.split(":")[1]]
        result = run("protos", SHARED / "protos-c07-sip.tar.xz", args.tree.resolve(), extra, work)
        print()
        protos_figures(result)
    print(f"\nwork files: {base}")


if __name__ == "__main__":
    main()
