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

from collections.abc import Sequence

from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

__all__ = ["SHELL_NAME", "SHELL_SOURCE", "render_page", "shell_loader"]

#: Template name under which the macros are served.
SHELL_NAME = "lopsnb_shell.html.j2"

SHELL_SOURCE = """\
{%- macro page_head(title, css, generator='') -%}
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
</head>
{%- endmacro -%}

{%- macro page_header(kicker, title, meta, nobreak=False) -%}
<body>
<div class="lp-page{{ ' lp-nobreak' if nobreak else '' }}">
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
{{ shell.page_head(head_title or title, css) }}
{{ shell.page_header(kicker, title, meta, nobreak=nobreak) }}
<main>
{{ body }}
</main>
{{ shell.page_footer(footer) }}
{{ shell.page_end() }}
"""


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

    Returns
    -------
    str
        The HTML page.
    """
    template = _environment().from_string(_PAGE)
    return template.render(kicker=kicker, title=title, meta=list(meta), body=body, footer=list(footer), css=Markup(css), nobreak=nobreak,
                           head_title=head_title)
