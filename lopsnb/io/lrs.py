"""Read xAPI statements from a Learning Record Store (LRS) through its Statements API.

A ``workspace.yml`` source ``{lrs: {endpoint, auth, activities, ...}}`` feeds
``enrollments`` and ``assessments`` exactly as an exported file does
(:func:`lopsnb.io.xapi.read_xapi`): this module only produces the statement
stream, which :func:`lopsnb.io.xapi.xapi_tables` turns into the tables.

What it does:

* ``GET <endpoint>/statements`` with ``X-Experience-API-Version: 1.0.3``,
  the ``since`` / ``until`` / ``activity`` / ``verb`` filters, following
  ``more`` (a URL relative to the endpoint, which must stay on the same
  server so that the credentials are never sent elsewhere);
* a timeout per request and retries with exponential backoff on connection
  errors, timeouts, HTTP 429 and 5xx;
* an incremental local copy under
  ``<workspace>/.lopsnb-cache/lrs/<source key>/``: ``statements.jsonl``
  (every statement fetched, once per id) and ``state.json`` (the latest
  ``stored`` time seen per query).  The next load asks only for statements
  stored since then (less :data:`OVERLAP`) and merges them, so statements
  repeated by overlapping pages or fetches are counted once;
* credentials only from environment variables named in the configuration.
  Their values are put in the ``Authorization`` header and nowhere else: not
  in the cache, a message, a log or a report.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lopsnb.errors import Problem, SourceError
from lopsnb.io.cache import CACHE_DIRNAME
from lopsnb.io.xapi import VOIDED_VERB, XapiTables, xapi_tables

__all__ = [
    "LRS_CACHE_DIRNAME",
    "OVERLAP",
    "XAPI_VERSION",
    "LrsAuth",
    "LrsConfig",
    "LrsSource",
    "LrsResult",
    "load_lrs",
    "lrs_cache_dir",
]

#: The xAPI version lopsnb speaks (sent as ``X-Experience-API-Version``).
XAPI_VERSION = "1.0.3"
#: Sub-folder of the workspace cache holding one folder per LRS source.
LRS_CACHE_DIRNAME = "lrs"
_CACHE_FORMAT = 1
#: HTTP statuses worth another try: rate limiting and server-side failures.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Variables an ``auth`` entry may name.  The prefix keeps a workspace.yml
#: received from someone else from sending your other secrets (a cloud key,
#: a repository token) to an endpoint of its choosing.
_ENV_NAME = re.compile(r"^(LRS|LOPSNB)_[A-Za-z0-9_]+$")
_ENV_EXPECTED = "the name of an environment variable starting with LRS_ or LOPSNB_, e.g. LRS_PASSWORD"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
#: How far before the latest ``stored`` time seen the next fetch starts.  An
#: LRS may give a statement its ``stored`` time before a concurrent one that
#: becomes visible first; asking again for this window (repeats are dropped
#: by id) keeps such a statement from being skipped.
OVERLAP = timedelta(seconds=60)
#: Replaced in tests by a function that records instead of sleeping.
_sleep: Callable[[float], None] = time.sleep


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LrsAuth(_Strict):
    """Where the LRS credentials are: the *names* of environment variables.

    Either ``username_env`` and ``password_env`` (HTTP Basic) or ``token_env``
    (an ``Authorization: Bearer`` token). The values never appear in
    ``workspace.yml``.
    """

    username_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None


class LrsConfig(_Strict):
    """The ``lrs:`` mapping of a source (``docs/data-contract.md``, "LRS sources").

    Attributes
    ----------
    endpoint : str
        The LRS's xAPI base URL; statements are read from ``<endpoint>statements``.
    auth : LrsAuth or None
        The environment variables holding the credentials (None: no
        ``Authorization`` header).
    since, until : datetime or None
        Only statements stored after ``since`` / at or before ``until``
        (offset required).
    activity, verb : str or None
        The xAPI ``activity`` / ``verb`` filters of the query.
    related_activities : bool
        With ``activity``: also statements whose context names it.
    activities, account_column, unknown_actors
        As for an xAPI file source (:func:`lopsnb.io.xapi.read_xapi`).
    page_size : int or None
        The xAPI ``limit`` per page.
    timeout : float
        Seconds to wait for one answer.
    retries : int
        Further attempts after a retryable failure.
    backoff : float
        Seconds before the first retry, doubling after each.
    """

    endpoint: str = Field(min_length=1)
    auth: LrsAuth | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    activity: str | None = Field(default=None, min_length=1)
    related_activities: bool = False
    verb: str | None = Field(default=None, min_length=1)
    activities: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    account_column: str = "person_id"
    unknown_actors: Literal["error", "drop"] = "error"
    page_size: int | None = Field(default=None, ge=1)
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=4, ge=0, le=20)
    backoff: float = Field(default=0.5, ge=0, le=60)


class LrsSource(_Strict):
    """A table read from an LRS: ``sources.<table>.lrs``."""

    lrs: LrsConfig


@dataclass(frozen=True, kw_only=True)
class LrsResult:
    """What :func:`load_lrs` read.

    Attributes
    ----------
    tables : XapiTables
        The enrollments and assessments, as from an exported file.
    fetched : int
        Statements new in this load.
    duplicates : int
        Statements received again (overlapping pages or fetches), kept once.
    pages : int
        Pages requested in this load.
    cached : int
        Statements in the local copy after this load.
    cache_dir : Path
        The local copy's folder.
    copy_error : str or None
        Why the local copy could not be written (the tables are complete;
        the next load fetches everything again), or None.
    """

    tables: XapiTables
    fetched: int
    duplicates: int
    pages: int
    cached: int
    cache_dir: Path
    copy_error: str | None = None

    def note(self, endpoint: str) -> str:
        """One line for ``Workspace.notes``.

        Parameters
        ----------
        endpoint : str
            The endpoint as configured.

        Returns
        -------
        str
            Counts of new, repeated and cached statements, then the xAPI stats.
        """
        where = f"in the local copy {self.cache_dir}" if self.copy_error is None else (
            f"fetched (local copy {self.cache_dir} not written: {self.copy_error})")
        return (f"LRS {endpoint}: {self.fetched} new statement(s) in {self.pages} page(s), "
                f"{self.duplicates} repeated statement(s) counted once, {self.cached} {where}; {self.tables.stats}")


@dataclass(frozen=True, kw_only=True)
class _Where:
    """The config file, field and line that problems name."""

    config: str
    field: str
    line_of: Callable[[tuple[str, ...]], int | None]

    def problem(self, keys: tuple[str, ...], found: str, expected: str) -> Problem:
        return Problem(self.config, self.line_of(keys), ".".join((self.field, *keys)), found, expected)


# --------------------------------------------------------------------------- configuration checks


def _endpoint(cfg: LrsConfig, where: _Where) -> str:
    """The endpoint with a trailing slash; refused with user info, query or another scheme."""
    parts = urllib.parse.urlsplit(cfg.endpoint.strip())
    expected = "the LRS's xAPI base URL, http(s)://host[:port]/path/ (credentials go in auth, from environment variables)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        found = repr(cfg.endpoint) if "@" not in cfg.endpoint else "a URL that is not http(s)://host/..."
        raise SourceError([where.problem(("endpoint",), found, expected)], summary=f"invalid {where.field}.endpoint")
    if parts.username or parts.password or parts.query or parts.fragment:
        # Not echoed: the user info or query may hold a password or token.
        raise SourceError([where.problem(("endpoint",), "a URL with user info, a query or a fragment (not shown)", expected)],
                          summary=f"invalid {where.field}.endpoint")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _env(name: str | None, key: str, where: _Where) -> str:
    """The value of environment variable ``name``; a SourceError naming it when unset."""
    if name is None or not _ENV_NAME.match(name):
        if name is not None and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            found = f"{name}, a variable without the LRS_ or LOPSNB_ prefix"
        else:
            # Not repeated: someone may have put the secret itself here.
            found = "nothing" if name is None else "a value that is not a variable name (not shown, it may be a secret)"
        raise SourceError([where.problem(("auth", key), found, _ENV_EXPECTED)], summary=f"invalid {where.field}.auth.{key}")
    value = os.environ.get(name)
    if not value:
        raise SourceError([where.problem(("auth", key), f"environment variable {name} is not set",
                                         f"{name} set to the LRS credential before lopsnb runs")],
                          summary=f"missing LRS credential {name}")
    return value


def _auth_header(auth: LrsAuth | None, where: _Where) -> tuple[str | None, str]:
    """The ``Authorization`` header value (None without auth) and the variable names, for messages."""
    if auth is None:
        return None, "no credentials"
    if auth.token_env is not None and (auth.username_env or auth.password_env):
        raise SourceError([where.problem(("auth",), "both token_env and username_env/password_env",
                                         "either token_env, or username_env and password_env")],
                          summary=f"invalid {where.field}.auth")
    if auth.token_env is not None:
        return f"Bearer {_env(auth.token_env, 'token_env', where)}", f"the token in {auth.token_env}"
    if auth.username_env is None and auth.password_env is None:
        raise SourceError([where.problem(("auth",), "no variable names",
                                         "token_env, or username_env and password_env")], summary=f"invalid {where.field}.auth")
    user = _env(auth.username_env, "username_env", where)
    password = _env(auth.password_env, "password_env", where)
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}", f"the credentials in {auth.username_env} / {auth.password_env}"


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True, kw_only=True)
class _Client:
    """GET JSON from one LRS, with timeout, retries and backoff."""

    endpoint: str
    authorization: str | None = field(repr=False)
    credentials: str  # names of the variables, for messages; never the values
    timeout: float
    retries: int
    backoff: float
    label: str

    def same_server(self, url: str) -> bool:
        a, b = urllib.parse.urlsplit(self.endpoint), urllib.parse.urlsplit(url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def get_json(self, url: str) -> Any:
        """The decoded JSON body of ``GET url``; SourceError once the retries are spent."""
        headers = {"X-Experience-API-Version": XAPI_VERSION, "Accept": "application/json"}
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        shown = _without_query(url)
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                _sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=self.timeout) as resp:
                    body = resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code not in _RETRY_STATUS:
                    raise self._http_error(exc, shown) from None
                reason = f"HTTP {exc.code} {exc.reason}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
                reason = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
            else:
                return self._decode(body, shown)
        raise SourceError([Problem(self.label, None, "endpoint", f"no answer from {shown} after {self.retries + 1} attempt(s): {reason}",
                                   "a reachable LRS (check the endpoint, the network, or raise timeout / retries)")],
                          summary=f"cannot read the LRS {self.endpoint}")

    def _http_error(self, exc: urllib.error.HTTPError, shown: str) -> SourceError:
        if exc.code in (401, 403):
            found = f"HTTP {exc.code} {exc.reason} from {shown} with {self.credentials}"
            expected = "credentials the LRS accepts with read access to statements"
        else:
            found = f"HTTP {exc.code} {exc.reason} from {shown}: {_snippet(exc)}"
            expected = "a Statements API answering the query (check the endpoint and the filters)"
        return SourceError([Problem(self.label, None, "endpoint", found, expected)], summary=f"the LRS {self.endpoint} refused the request")

    def _decode(self, body: bytes, shown: str) -> Any:
        try:
            return json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise SourceError([Problem(self.label, None, "endpoint", f"an answer from {shown} that is not JSON: {body[:60]!r}",
                                       "a StatementResult JSON object (is the endpoint the xAPI base URL?)")],
                              summary=f"cannot read the LRS {self.endpoint}") from None


def _without_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _snippet(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace").strip()
    except OSError:
        return "(no body)"
    return text[:200] or "(no body)"


def _pages(client: _Client, params: Mapping[str, str]) -> Iterator[list[Any]]:
    """The ``statements`` list of every page of one query, following ``more``."""
    url = client.endpoint + "statements?" + urllib.parse.urlencode(params)
    seen: set[str] = set()
    while url:
        seen.add(url)
        body = client.get_json(url)
        if not isinstance(body, dict) or not isinstance(body.get("statements"), list):
            raise SourceError([Problem(client.label, None, "endpoint", f"an answer from {_without_query(url)} without a statements list",
                                       "a StatementResult object {statements: [...], more: ...}")],
                              summary=f"cannot read the LRS {client.endpoint}")
        yield body["statements"]
        more = body.get("more")
        if not more:
            return
        url = urllib.parse.urljoin(client.endpoint, str(more))
        if not client.same_server(url):
            raise SourceError([Problem(client.label, None, "endpoint", f"a 'more' link to another server ({_without_query(url)})",
                                       "'more' on the LRS's own server (the credentials are not sent elsewhere)")],
                              summary=f"refused to follow the LRS {client.endpoint}")
        if url in seen:
            raise SourceError([Problem(client.label, None, "endpoint", "a 'more' link the LRS had already given",
                                       "paging that ends (an LRS bug; retry later)")], summary=f"cannot read the LRS {client.endpoint}")


# --------------------------------------------------------------------------- local copy


def _query_params(cfg: LrsConfig) -> dict[str, dict[str, str]]:
    """The queries to run, by name: the configured one and, when it is filtered, the voiding statements.

    A voiding statement's object is a StatementRef, so an ``activity`` or
    ``verb`` filter would hide it; asking for them separately keeps voiding
    working on LRSs that return voided statements.
    """
    main: dict[str, str] = {}
    if cfg.until is not None:
        main["until"] = _iso(cfg.until)
    if cfg.page_size is not None:
        main["limit"] = str(cfg.page_size)
    voids = dict(main, verb=VOIDED_VERB)
    if cfg.activity is not None:
        main["activity"] = cfg.activity
        if cfg.related_activities:
            main["related_activities"] = "true"
    if cfg.verb is not None:
        main["verb"] = cfg.verb
    return {"statements": main, "voiding": voids} if (cfg.activity or cfg.verb) else {"statements": main}


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat()


def _stored(statement: Any) -> datetime | None:
    text = statement.get("stored") if isinstance(statement, dict) else None
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _key(statement: Any) -> str:
    """The statement id (case-folded), or a content hash for a statement without one."""
    sid = statement.get("id") if isinstance(statement, dict) else None
    if isinstance(sid, str) and sid.strip():
        return sid.strip().casefold()
    return "sha256:" + hashlib.sha256(json.dumps(statement, sort_keys=True, default=str).encode()).hexdigest()


def lrs_cache_dir(workspace: Path, cfg: LrsConfig) -> Path:
    """The folder of the local copy of the statements ``cfg`` selects.

    The key hashes what decides which statements are fetched (endpoint,
    filters, since / until), not the credentials: a changed query starts a
    new copy instead of mixing two selections.

    Parameters
    ----------
    workspace : Path
        The workspace folder.
    cfg : LrsConfig
        The ``lrs:`` mapping.

    Returns
    -------
    Path
        ``<workspace>/.lopsnb-cache/lrs/<host>-<key>``.
    """
    what = {"endpoint": cfg.endpoint.strip().rstrip("/"), "since": _iso(cfg.since) if cfg.since else None,
            "queries": _query_params(cfg)}
    host = re.sub(r"[^a-z0-9]+", "-", (urllib.parse.urlsplit(cfg.endpoint).hostname or "lrs").lower()).strip("-")
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]
    return workspace / CACHE_DIRNAME / LRS_CACHE_DIRNAME / f"{host}-{digest}"


def _read_copy(folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Cached statements by key, in fetch order, and the cursors; empty when absent or unreadable."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        lines = (folder / "statements.jsonl").read_text(encoding="utf-8").splitlines()
        statements = {_key(st): st for st in (json.loads(line) for line in lines if line.strip())}
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(state, dict) or state.get("format") != _CACHE_FORMAT or len(statements) != state.get("statements"):
        return {}, {}  # a copy cut short or of another layout: fetch again from the start
    cursors = state.get("cursors")
    return statements, {k: v for k, v in cursors.items() if isinstance(v, str)} if isinstance(cursors, dict) else {}


def _write_copy(folder: Path, statements: Mapping[str, Any], cursors: Mapping[str, str], endpoint: str) -> str | None:
    """Replace the local copy atomically (statements first, then the state that vouches for them).

    Returns None, or why the copy could not be written: a read-only
    workspace still loads, it only fetches everything again next time.
    """
    text = "".join(json.dumps(st, ensure_ascii=False, sort_keys=True) + "\n" for st in statements.values())
    state = {"format": _CACHE_FORMAT, "endpoint": endpoint, "statements": len(statements), "cursors": dict(cursors)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in (("statements.jsonl", text), ("state.json", json.dumps(state, indent=2) + "\n")):
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
            os.replace(tmp, folder / name)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


# --------------------------------------------------------------------------- entry point


def load_lrs(
    workspace: str | os.PathLike[str],
    cfg: LrsConfig,
    *,
    people: pd.DataFrame,
    config: str = "workspace.yml",
    field_path: str = "lrs",
    line_of: Callable[[tuple[str, ...]], int | None] | None = None,
) -> LrsResult:
    """Fetch the new statements of an LRS into the local copy and tabulate them all.

    Parameters
    ----------
    workspace : path
        The workspace folder (the local copy lives in its ``.lopsnb-cache``).
    cfg : LrsConfig
        The ``lrs:`` mapping.
    people : DataFrame
        The validated people table (actors are resolved against it).
    config, field_path : str
        The config file and the user's field (``sources.<table>.lrs``) that
        problems name.
    line_of : callable, optional
        Line in ``config`` of a key path below ``field``.

    Returns
    -------
    LrsResult

    Raises
    ------
    SourceError
        A bad endpoint or auth entry, an unset credential variable (named),
        an LRS that cannot be reached after the retries or refuses the
        request, or an answer that is not a StatementResult. The local copy
        is left as it was.
    ValidationError
        Malformed statements or unresolved actors, as for an exported file;
        the rows are lines of the local copy's ``statements.jsonl``.
    """
    where = _Where(config=config, field=field_path, line_of=lambda keys: line_of(keys) if line_of else None)
    endpoint = _endpoint(cfg, where)
    authorization, credentials = _auth_header(cfg.auth, where)
    host = urllib.parse.urlsplit(endpoint).hostname
    if authorization is not None and endpoint.startswith("http:") and host not in _LOOPBACK:
        raise SourceError([where.problem(("endpoint",), f"{_without_query(endpoint)}: plain http with credentials",
                                         "an https:// endpoint (credentials travel unencrypted over http; only "
                                         "localhost may use it)")], summary=f"refused {where.field}.endpoint")
    client = _Client(endpoint=endpoint, authorization=authorization, credentials=credentials, timeout=cfg.timeout,
                     retries=cfg.retries, backoff=cfg.backoff, label=f"{config} [{field_path}]")
    folder = lrs_cache_dir(Path(workspace), cfg)
    statements, cursors = _read_copy(folder)
    before, duplicates, pages = len(statements), 0, 0
    for name, params in _query_params(cfg).items():
        latest = _parse_cursor(cursors.get(name))
        since = max((d for d in (cfg.since, latest - OVERLAP if latest else None) if d is not None), default=None)
        query = dict(params, since=_iso(since)) if since is not None else dict(params)
        for page in _pages(client, query):
            pages += 1
            for st in page:
                key = _key(st)
                if key in statements:
                    duplicates += 1
                    continue
                statements[key] = st
                stored = _stored(st)
                if stored is not None and (latest is None or stored > latest):
                    latest = stored
        if latest is not None:
            cursors[name] = _iso(latest)
    copy_error = _write_copy(folder, statements, cursors, endpoint)
    label = str(folder / "statements.jsonl") if copy_error is None else f"{client.label} (statements as fetched)"
    tables = xapi_tables(enumerate(statements.values(), start=1), label=label, people=people,
                         activities=cfg.activities, account_column=cfg.account_column, unknown_actors=cfg.unknown_actors)
    return LrsResult(tables=tables, fetched=len(statements) - before, duplicates=duplicates, pages=pages,
                     cached=len(statements), cache_dir=folder, copy_error=copy_error)


def _parse_cursor(text: str | None) -> datetime | None:
    return _stored({"stored": text}) if text else None
