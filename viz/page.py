"""A finished HTML page (a map, a report) that is still a ``str`` and shows itself in a notebook.

:func:`viz.map.build_map`, :func:`viz.map.store_map` and :func:`viz.report.build_report` return an
:class:`HtmlPage`: everything that took their text keeps working (it is a ``str``), and Jupyter displays it
inline through ``_repr_html_``: an ``<iframe srcdoc>`` of the page, sized, so that the page's own scripts and
styles run in their own document and cannot break the notebook's layout (as ``HTML(page)`` would).
"""
from __future__ import annotations

import html
import os

__all__ = ["HtmlPage"]


class HtmlPage(str):
    """A self-contained HTML page: ``str`` with ``to_html()``, ``save(path)`` and notebook display.

    Examples
    --------
    >>> page = HtmlPage("<!DOCTYPE html><title>a & b</title>", height=300)
    >>> page.to_html().startswith("<!DOCTYPE html>")
    True
    >>> 'srcdoc="&lt;!DOCTYPE html&gt;&lt;title&gt;a &amp; b&lt;/title&gt;"' in page._repr_html_()
    True
    """

    height: int

    def __new__(cls, text: str, *, height: int = 700) -> HtmlPage:
        page = super().__new__(cls, text)
        page.height = height
        return page

    def to_html(self) -> str:
        """The page's text."""
        return str(self)

    def save(self, path: str | os.PathLike) -> str:
        """Write the page to ``path``, whole or not at all (:func:`symbiosis.export.write_output`); the path
        written (``-``: standard output)."""
        from symbiosis.export import write_output

        return write_output(path, str(self))

    def _repr_html_(self) -> str:
        # srcdoc takes the page as an attribute value: html.escape makes every character of it inert text
        # there, and the browser un-escapes it into the frame's own document
        return (f'<iframe srcdoc="{html.escape(str(self), quote=True)}" style="width: 100%; height: {self.height}px; '
                'border: 1px solid #ccc; border-radius: 4px" sandbox="allow-scripts"></iframe>')
