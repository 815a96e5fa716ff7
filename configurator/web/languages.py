"""The language of each page: Flask-Babel's gettext in every template, the locale chosen per request.

Templates write user-facing text as `{{ _("...") }}` (or `{% trans %}`), so catalogues in
translations/ can carry it into other languages; until a language has a catalogue, English shows.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

babel = Babel()
# The languages with a catalogue; English is the source text, so it needs none.
LANGUAGES: tuple[str, ...] = ("en",)


def select_locale() -> str:
    """The best of our languages for this request's Accept-Language, else English."""
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def init_app(app: Flask) -> None:
    """Set up Flask-Babel (catalogues from BABEL_TRANSLATION_DIRECTORIES) with the locale selector."""
    babel.init_app(app, locale_selector=select_locale)
