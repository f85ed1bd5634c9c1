"""Screenshots of the dashboard's pages, kept as CI artifacts (never committed).

Browser tests call `save(page, name)` once a page shows what it is about; each call writes
`NAME-laptop.png` (1280 px wide) and `NAME-phone.png` (390 px) into the run's artifact folder:
`$TEST_ARTIFACTS_DIR/screenshots`, by default `var/test-artifacts/screenshots` in the checkout
(`var/` is ignored by git). `.ci/run` prints the folder at the end.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}


def folder() -> Path:
    root = os.environ.get("TEST_ARTIFACTS_DIR") or Path(settings.BASE_DIR) / "var/test-artifacts"
    path = Path(root) / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(page, name: str) -> list[Path]:
    """Full-page screenshots of `page` at each size; its own viewport is restored after."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
    original = page.viewport_size
    paths = []
    try:
        for label, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            path = folder() / f"{safe}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
    finally:
        if original:
            page.set_viewport_size(original)
    return paths
