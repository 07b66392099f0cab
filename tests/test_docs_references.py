"""A newcomer can open every file the README and the guides point to: no path outside the
repository (``../shared/CONTRACT.md``, ``/work/shared/PROVIDERS.md`` were), every relative link
resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_docs_point_only_to_files_in_the_repository():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert not re.search(r"(\.\./shared/|/work/shared/)", text), doc.name
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"
