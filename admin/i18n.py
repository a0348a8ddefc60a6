"""Simplified Chinese by default; Traditional Chinese and English per user."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import Babel
from flask_login import current_user

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
#: The user's language setting -> the catalogue directory under translations/.
LOCALES = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en"}


def init_app(web: Flask) -> None:
    default = web.extensions["hotline"].settings.organization.language

    def select_locale() -> str:
        language = current_user.language if current_user.is_authenticated else default
        return LOCALES.get(language, LOCALES["zh-CN"])

    Babel(
        web,
        locale_selector=select_locale,
        timezone_selector=lambda: web.extensions["hotline"].settings.organization.timezone,
        default_translation_directories=str(TRANSLATIONS),
    )
