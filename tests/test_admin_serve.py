"""`hotline admin` serving with waitress, translations, waveform peaks and masking."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from admin import waveform
from admin.i18n import TRANSLATIONS
from admin.present import mask
from recorder import db
from tests.browser import desk
from tests.support.processes import free_port, running

HOTLINE = [sys.executable, "-m", "hotline"]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


def test_hotline_admin_serves_the_login_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    desk.make_app(tmp_path, url).engine.dispose()
    port = free_port()
    argv = [*HOTLINE, "--data-dir", str(tmp_path / "var"), "--database-url", url, "admin",
            "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    login = f"http://127.0.0.1:{port}/login"
    with (
        running(argv, ready=lambda: _get(login) == 200, timeout=20, log=tmp_path / "admin.log"),
        urllib.request.urlopen(login, timeout=2) as response,
    ):
        assert "登录" in response.read().decode()
        assert response.headers["X-Frame-Options"] == "DENY"


def test_hotline_admin_refuses_an_outdated_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine, "0001")
    engine.dispose()
    argv = [*HOTLINE, "--data-dir", str(tmp_path), "--database-url", url, "admin",
            "--listen", f"127.0.0.1:{free_port()}"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "hotline db upgrade" in done.stderr


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "zh_Hant_TW"])
def test_committed_catalogues_are_complete_and_compiled(locale: str) -> None:
    """A fresh clone needs the .mo files: they must match the .po and cover the .pot."""
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as fh:
        po = read_po(fh)
    with (folder / "messages.mo").open("rb") as fh:
        mo = read_mo(fh)
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        pot = read_po(fh)
    assert {m.id for m in pot if m.id} <= {m.id for m in po if m.id and m.string}
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_waveform_peaks_per_channel(tmp_path: Path) -> None:
    path = desk.stereo_wav(tmp_path / "a.wav", seconds=2.0)
    peaks = waveform.peaks(path, buckets=100)
    assert peaks["duration"] == pytest.approx(2.0)
    left, right = peaks["channels"]
    assert len(left) == len(right) == 100
    assert min(left) > 0.45  # the caller's tone throughout
    assert max(right[:45]) == 0 and min(right[55:]) > 0.25  # staff only in the second half


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("13812345678", "138****5678"),
        ("02187654321", "021****4321"),
        ("8001", "****"),
        ("123456", "1*3456"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask(number: str | None, shown: str) -> None:
    assert mask(number) == shown


def test_catalogue_template_is_up_to_date(tmp_path: Path) -> None:
    """Every string marked in admin/ is in messages.pot (so it gets translated)."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "admin/babel.cfg", "-k", "_l", "-k",
         "lazy_gettext", "-o", str(out), "."],
        cwd=root, check=True, timeout=60,
    )  # fmt: skip
    with out.open("rb") as fresh, (TRANSLATIONS / "messages.pot").open("rb") as committed:
        assert {m.id for m in read_po(fresh)} == {m.id for m in read_po(committed)}
