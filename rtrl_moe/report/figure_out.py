"""A rendered figure as the page and the Markdown report embed it (kept apart from render.py so
that the section modules can build figures without importing the renderer)."""
from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass
class FigureOut:
    kind: str
    anchor: str
    title: str
    caption: str
    png: bytes
    path: str          # relative to the report folder (Markdown)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")
