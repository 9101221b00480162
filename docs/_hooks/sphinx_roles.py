"""mkdocs hook: render the Sphinx roles used in docstrings (``:class:`X```) as plain code.

The package's docstrings use reStructuredText roles, which mkdocstrings' Markdown
renders literally as ``:class:<code>X</code>``. This drops the role, and shortens
``~pkg.mod.Name`` to ``Name`` as Sphinx does. Offline and dependency-free.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj|const|term):(<code>)(~?)([^<]*)")


def _replace(match: re.Match[str]) -> str:
    name = match.group(3)
    if match.group(2):
        name = name.rsplit(".", 1)[-1]
    return f"{match.group(1)}{name}"


def on_page_content(html: str, **_: Any) -> str:
    """Rewrite the roles in every page's HTML."""
    return _ROLE.sub(_replace, html)
