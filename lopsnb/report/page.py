"""The one HTML page shell of every page lopsnb writes.

Program reports (the nbconvert template), the portfolio index and the
"report not produced" page share their ``<head>``, the header with its kicker,
title and metadata list, and the footer.  The shell is written once, here, as
Jinja macros (:data:`SHELL_SOURCE`, template name :data:`SHELL_NAME`):

* :func:`render_page` renders a complete page from Python (index, failure page);
* :func:`shell_loader` serves the macros to nbconvert, and the report template
  imports them with ``{% import 'lopsnb_shell.html.j2' as shell %}``.

Escaping: the macros print their arguments with ``{{ }}``.  In an
autoescaping environment (:func:`render_page`) plain strings are escaped and
:class:`markupsafe.Markup` passes through; nbconvert's environment does not
autoescape, so the report template passes values it has already escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

__all__ = ["SHELL_NAME", "SHELL_SOURCE", "add_header_scope", "css_string", "print_footer_css", "render_page", "shell_loader"]

#: Template name under which the macros are served.
SHELL_NAME = "lopsnb_shell.html.j2"

SHELL_SOURCE = """\
{%- macro page_head(title, css, generator='', print_css='') -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
{% if generator %}<meta name="generator" content="{{ generator }}">
{% endif %}<title>{{ title }}</title>
<style>
{{ css }}
</style>
{% if print_css %}<style media="print">
{{ print_css }}
</style>
{% endif %}</head>
{%- endmacro -%}

{%- macro page_header(kicker, title, meta, nobreak=False, wide=False) -%}
<body>
<div class="lp-page{{ ' lp-nobreak' if nobreak else '' }}{{ ' lp-wide' if wide else '' }}">
<header class="lp-header">
<p class="lp-kicker">{{ kicker }}</p>
<h1>{{ title }}</h1>
<dl class="lp-meta">
{% for term, value in meta %}<div><dt>{{ term }}</dt><dd>{{ value }}</dd></div>
{% endfor %}</dl>
</header>
{%- endmacro -%}

{%- macro page_footer(paragraphs) -%}
<footer class="lp-footer">
{% for p in paragraphs %}<p>{{ p }}</p>
{% endfor %}</footer>
</div>
</body>
{%- endmacro -%}

{%- macro page_end() -%}
</html>
{%- endmacro -%}
"""

_PAGE = """\
{%- import 'lopsnb_shell.html.j2' as shell -%}
{{ shell.page_head(head_title or title, css, print_css=print_css) }}
{{ shell.page_header(kicker, title, meta, nobreak=nobreak, wide=wide) }}
<main>
{{ body }}
</main>
{{ shell.page_footer(footer) }}
{{ shell.page_end() }}
"""


def css_string(text: object) -> Markup:
    """``text`` as a quoted CSS string that cannot end the string, the rule or the ``<style>`` element.

    Every character other than a letter, digit, space or ``.,-_()`` is written
    as a CSS hex escape (``\\3c `` for ``<``), so a program named
    ``</style><script>`` prints as that text in the PDF footer.
    """
    out = []
    for ch in str(text):
        if ch.isascii() and (ch.isalnum() or ch in " .,-_()"):
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return Markup('"' + "".join(out) + '"')


def print_footer_css(label: str) -> Markup:
    """The print rule putting ``label`` (the program or portfolio name) in the bottom-left margin of every PDF page.

    The page number ("Page N of M") is in the shared stylesheet; the label
    differs per page, so it is written into each page's head.
    """
    return Markup("@page { @bottom-left { content: ") + css_string(f"lopsnb \u00b7 {label}") + Markup("; } }")


_SECTION = re.compile(r"<(thead|tbody)\b[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_TH_WITHOUT_SCOPE = re.compile(r"<th\b(?![^>]*\bscope=)", re.IGNORECASE)


def add_header_scope(page: str) -> str:
    """``page`` with ``scope="col"`` on every header cell of a ``<thead>`` and ``scope="row"`` on those of a ``<tbody>``.

    Screen readers then announce each data cell with its column (and row)
    heading (WCAG 2.1, 1.3.1). Cells that already say their scope keep it.
    """

    def scoped(match: re.Match[str]) -> str:
        scope = "col" if match.group(1).lower() == "thead" else "row"
        return _TH_WITHOUT_SCOPE.sub(f'<th scope="{scope}"', match.group(0))

    return _SECTION.sub(scoped, page)


def shell_loader() -> DictLoader:
    """A Jinja loader serving the shell macros as :data:`SHELL_NAME` (for nbconvert's ``extra_loaders``)."""
    return DictLoader({SHELL_NAME: SHELL_SOURCE})


def _environment() -> Environment:
    return Environment(loader=shell_loader(), autoescape=select_autoescape(default=True, default_for_string=True))


def render_page(
    *,
    kicker: str,
    title: str,
    meta: Sequence[tuple[str, str]],
    body: Markup,
    footer: Sequence[str | Markup],
    css: str,
    nobreak: bool = True,
    head_title: str | None = None,
    print_label: str | None = None,
    wide: bool = False,
) -> str:
    """A complete lopsnb page.

    Parameters
    ----------
    kicker : str
        The small line above the title ("Training impact portfolio").
    title : str
        Page title and ``<h1>``; escaped.
    meta : sequence of (str, str)
        Header metadata, term and value; escaped.
    body : Markup
        The page content (already safe HTML), placed inside ``<main>``.
    footer : sequence of str or Markup
        Footer paragraphs; plain strings are escaped.
    css : str
        The stylesheet, inlined (the page makes no external requests).
    nobreak : bool, default True
        Keep the page's sections together when printed.
    head_title : str, optional
        The browser tab's ``<title>`` when it differs from the heading.
    print_label : str, optional
        The name in the footer of every printed page (default: ``title``).
    wide : bool, default False
        A wide page (the portfolio index): wider on screen, landscape on paper.

    Returns
    -------
    str
        The HTML page.
    """
    template = _environment().from_string(_PAGE)
    return add_header_scope(template.render(kicker=kicker, title=title, meta=list(meta), body=body, footer=list(footer), css=Markup(css), nobreak=nobreak,
                           head_title=head_title, print_css=print_footer_css(print_label or title), wide=wide))
