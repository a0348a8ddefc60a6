"""The import contract (pyproject.toml [tool.importlinter], docs/architecture.md) holds,
and lists no exception: a back-edge, a cycle inside a package or a second importer of
the SIP library fails here, naming the import, as it fails `scripts/test`."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contracts() -> list[dict[str, object]]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        config = tomllib.load(fh)["tool"]["importlinter"]
    contracts: list[dict[str, object]] = config["contracts"]
    return contracts


def test_the_contract_lists_no_exception() -> None:
    contracts = _contracts()
    assert {c["type"] for c in contracts} >= {
        "layers",
        "forbidden",
        "protected",
        "acyclic_siblings",
    }
    excused = {
        str(c["name"]): sorted(
            k for k in c if k.startswith("ignore") or k == "unmatched_ignore_imports_alerting"
        )
        for c in contracts
    }
    assert all(not keys for keys in excused.values()), excused


def test_the_contract_holds() -> None:
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    kept = [line for line in done.stdout.splitlines() if line.endswith((" KEPT", " BROKEN"))]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert len(kept) == len(_contracts()) and all(line.endswith(" KEPT") for line in kept), kept
