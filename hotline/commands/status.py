"""hotline status: each component's /readyz, read over HTTP, one block each.

The admin at admin.listen, the agent at agent.health_listen, the worker at
queue.health_listen. Exit 0 when every component asked is ready, 1 when one is down
or not ready (for a monitoring check or a deploy script).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from hotline.app import App

READY = True
NAME = "status"
HELP = "say whether the admin, the agent and the worker are up and ready (exit 1 if not)"
COMPONENTS = ("admin", "agent", "worker")
TIMEOUT_S = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "components",
        nargs="*",
        type=_component,
        metavar="COMPONENT",
        help="admin, agent, worker (default: all three)",
    )


def _component(value: str) -> str:
    if value not in COMPONENTS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(COMPONENTS)}")
    return value


def _address(app: App, component: str) -> str:
    settings = app.settings
    return {
        "admin": settings.admin.listen,
        "agent": settings.agent.health_listen,
        "worker": settings.queue.health_listen,
    }[component]


def _url(listen: str) -> str:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in ("0.0.0.0", ""):  # noqa: S104 (listening on all: ask on loopback)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}/readyz" if ":" in host else f"http://{host}:{port}/readyz"


def probe(url: str, timeout: float = TIMEOUT_S) -> tuple[str, dict[str, Any] | None]:
    """("ready" | "not ready" | "down: why", the report if one came back)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http only)
            report = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503: answered, not ready
        try:
            report = json.loads(exc.read())
        except ValueError:
            return f"down: HTTP {exc.code}", None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"down: {getattr(reason, 'strerror', None) or reason}", None
    except ValueError:
        return "down: not a readiness report", None
    return str(report.get("status", "not ready")), report


def run(args: argparse.Namespace, app: App) -> int:
    healthy = True
    for component in args.components or COMPONENTS:
        listen = _address(app, component)
        if not listen:
            print(f"{component:<7} not checked (no health port configured)")
            continue
        url = _url(listen)
        state, report = probe(url)
        healthy = healthy and state == "ready"
        print(f"{component:<7} {state:<10} {url}")
        for name, check in (report or {}).get("checks", {}).items():
            mark = "ok" if check.get("ok") else "FAIL"
            print(f"        {name:<9} {mark:<5} {check.get('detail', '')}")
    return 0 if healthy else 1
