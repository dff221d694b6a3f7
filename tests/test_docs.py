"""The docs say what the code does: every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

from redis_sessions.conf import DEFAULTS, Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented_in_the_settings_page() -> None:
    table = (DOCS / "settings.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M))
    assert documented == set(DEFAULTS)


def test_every_setting_has_a_typed_property() -> None:
    properties = {n for n, v in vars(Settings).items() if isinstance(v, property)}
    assert set(DEFAULTS) <= properties
