"""Reading statements from a real Learning Record Store: Ralph, started on localhost.

The fixture starts Ralph (``build/ralph-venv``, made by ``make ralph``, on
which ``make test`` depends) with its file-system backend and HTTP Basic
auth on a free loopback port, fills it with statements through the xAPI
Statements API, and stops it at the end.  Its page size is 4 statements, so
every load follows ``more`` links.

Ralph 5.1's file-system LRS backend writes its statements file with
operation type ``create``, so a second POST fails ("already exists and
overwrite is not allowed"); the launcher below makes it append instead,
which is what an LRS does.  Everything else is Ralph as installed.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from lopsnb import load_workspace
from lopsnb.errors import SourceError, ValidationError
from lopsnb.io import lrs as lrs_module
from lopsnb.io.lrs import LrsConfig, load_lrs, lrs_cache_dir

ROOT = Path(__file__).resolve().parents[2]
RALPH_VENV = Path(os.environ.get("LOPSNB_RALPH_VENV", ROOT / "build" / "ralph-venv"))
USER, SECRET = "lopsnb-reader", "s3cret-Ralph-pw-7f3a9c"
PAGE = 4
COURSE = "https://lms.acme.example/course/demo"
POST = COURSE + "/post"
VERB = "http://adlnet.gov/expapi/verbs/"
#: Start Ralph's API with uvicorn (no reloader), its fs backend appending.
LAUNCH = (
    "import sys, uvicorn\n"
    "from ralph.backends.data.base import BaseOperationType\n"
    "from ralph.backends.lrs.fs import FSLRSBackend\n"
    "FSLRSBackend.default_operation_type = BaseOperationType.APPEND\n"
    "uvicorn.run('ralph.api:app', host='127.0.0.1', port=int(sys.argv[1]), workers=1, log_level='warning')\n"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, deadline_s: float = 90.0) -> None:
    """Poll the heartbeat until Ralph answers (no fixed sleep), failing if it exits or never answers."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"Ralph exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/__heartbeat__", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)  # polling interval, not a wait for an event
    pytest.fail(f"Ralph did not answer within {deadline_s:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The xAPI base URL of a Ralph LRS running on localhost for this module."""
    python = RALPH_VENV / "bin" / "python"
    # `make ralph` writes .installed only once pip succeeded; a venv named by
    # LOPSNB_RALPH_VENV is taken as it is.
    installed = (RALPH_VENV / ".installed").is_file() or ("LOPSNB_RALPH_VENV" in os.environ and python.is_file())
    if not installed or not (RALPH_VENV / "bin" / "uvicorn").is_file():
        pytest.skip(f"Ralph LRS is not installed in {RALPH_VENV}: run `make ralph` (make test does it; it needs the package index)")
    base = tmp_path_factory.mktemp("ralph")
    (base / "data").mkdir()
    auth_file = base / "auth.json"
    # The password reaches bcrypt through the environment, not a command line.
    subprocess.run(
        [str(python), "-c", "import bcrypt, json, os, sys; h = bcrypt.hashpw(os.environ['PW'].encode(), bcrypt.gensalt(4)).decode();"
         "json.dump([{'agent': {'mbox': 'mailto:loader@acme.example', 'objectType': 'Agent'}, 'scopes': ['all'],"
         " 'hash': h, 'username': sys.argv[1]}], open(sys.argv[2], 'w'))", USER, str(auth_file)],
        env={**os.environ, "PW": SECRET}, check=True,
    )
    port = _free_port()
    env = {**os.environ, "RALPH_APP_DIR": str(base), "RALPH_AUTH_FILE": str(auth_file), "RALPH_RUNSERVER_BACKEND": "fs",
           "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(base / "data"),
           "RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT": str(PAGE)}
    log = base / "ralph.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(python), "-c", LAUNCH, str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=base)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, log)
        yield url + "/xAPI/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _post(endpoint: str, statements: list[dict]) -> None:
    auth = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    req = urllib.request.Request(endpoint + "statements", data=json.dumps(statements).encode(), method="POST",
                                 headers={"Authorization": f"Basic {auth}", "X-Experience-API-Version": "1.0.3",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200


def _stmt(who: int, verb: str, obj: str, ts: str | None, **extra: object) -> dict:
    st = {"id": str(uuid.uuid4()), "actor": {"objectType": "Agent", "mbox": f"mailto:p{who}@acme.example"},
          "verb": {"id": VERB + verb}, "object": {"objectType": "Activity", "id": obj}, **extra}
    if ts is not None:
        st["timestamp"] = ts
    return st


def _workspace_yml(endpoint: str, **more: str) -> str:
    extra = "".join(f"      {k}: {v}\n" for k, v in more.items())
    body = (f"    lrs:\n      endpoint: {endpoint}\n      auth: {{username_env: LRS_TEST_USER, password_env: LRS_TEST_PASS}}\n"
            f"      backoff: 0.001\n{extra}"
            f"      activities:\n        '{COURSE}': demo\n        '{POST}': {{program: demo, phase: post}}\n")
    return "sources:\n  enrollments:\n" + body + "  assessments:\n" + body


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRS_TEST_USER", USER)
    monkeypatch.setenv("LRS_TEST_PASS", SECRET)


def _files_containing(root: Path, needle: str) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path))
    return hits


def test_workspace_reads_ralph_with_paging_voiding_and_an_incremental_copy(ralph: str, make_workspace, creds, capsys) -> None:
    first = [
        _stmt(0, "launched", COURSE, "2026-03-01T09:00:00+00:00", result={"duration": "PT2H"}),
        _stmt(0, "completed", COURSE, "2026-03-10T15:00:00+00:00", result={"duration": "PT1H30M"}),
        _stmt(1, "launched", COURSE, "2026-03-02T09:00:00+00:00"),
        _stmt(1, "completed", COURSE, "2026-03-12T10:00:00+00:00"),
        _stmt(1, "scored", POST, "2026-03-12T11:00:00+00:00", result={"score": {"scaled": 0.82}}),
        _stmt(2, "launched", COURSE, "2026-03-03T09:00:00+00:00"),
        _stmt(2, "attempted", COURSE, "2026-03-04T09:00:00+00:00"),
        _stmt(99, "launched", "https://lms.acme.example/course/other", "2026-03-03T09:00:00+00:00"),  # another course
    ]
    first.append(_stmt(1, "voided", first[3]["id"], "2026-03-13T09:00:00+00:00"))  # P01's completion is voided
    first[-1]["object"] = {"objectType": "StatementRef", "id": first[3]["id"]}
    _post(ralph, first)
    root = make_workspace(enrollments=None, assessments=None)
    (root / "workspace.yml").write_text(_workspace_yml(ralph), encoding="utf-8")

    ws = load_workspace(root)
    enr = ws.enrollments.set_index("person_id")
    assert enr.loc["P00", "status"] == "completed" and enr.loc["P00", "hours"] == pytest.approx(3.5)
    assert enr.loc["P00", "completed_on"] == pd.Timestamp("2026-03-10")
    assert enr.loc["P01", "status"] == "in_progress"  # the voided completion does not count
    assert enr.loc["P02", "status"] == "in_progress"
    assert set(enr.index) == {"P00", "P01", "P02"}
    assert ws.assessments["score"].tolist() == pytest.approx([82.0])
    assert ws.sources["enrollments"] == f"lrs:{ralph}"
    note = next(n for n in ws.notes if n.startswith("LRS "))
    assert f"{len(first)} new statement(s) in 3 page(s)" in note  # 9 statements, 4 per page: `more` was followed twice

    copy = lrs_cache_dir(root, LrsConfig.model_validate({"endpoint": ralph}))
    assert len((copy / "statements.jsonl").read_text().splitlines()) == len(first)
    cursor = json.loads((copy / "state.json").read_text())["cursors"]["statements"]

    # New statements: without a timestamp Ralph dates them when stored, after the cursor.
    second = [_stmt(2, "completed", COURSE, None), _stmt(3, "launched", COURSE, None)]
    _post(ralph, second)
    ws2 = load_workspace(root)
    note2 = next(n for n in ws2.notes if n.startswith("LRS "))
    assert "2 new statement(s)" in note2 and f"{len(first) + 2} in the local copy" in note2
    assert json.loads((copy / "state.json").read_text())["cursors"]["statements"] > cursor
    enr2 = ws2.enrollments.set_index("person_id")
    assert enr2.loc["P02", "status"] == "completed" and "P03" in enr2.index
    assert enr2.loc["P01", "status"] == "in_progress"  # voiding still applied from the local copy

    # The password is nowhere: not in the workspace (cache included), messages or the summary.
    from lopsnb.cli import main

    from lopsnb.io.cache import build_cache

    assert build_cache(ws2).is_relative_to(root)  # the Parquet table cache is searched too
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    assert SECRET not in ws2.summary() and all(SECRET not in n for n in ws2.notes)
    assert _files_containing(root, SECRET) == []
    assert _files_containing(root, base64.b64encode(f"{USER}:{SECRET}".encode()).decode()) == []


def test_since_and_until_select_statements(ralph: str, tmp_path: Path, creds) -> None:
    people = pd.DataFrame({"person_id": ["P07", "P08"], "email": ["p7@acme.example", "p8@acme.example"]})
    course = COURSE + "/windowed"
    early = _stmt(7, "completed", course, "2025-01-05T09:00:00+00:00")
    kept = _stmt(7, "launched", course, "2025-02-05T09:00:00+00:00")
    late = _stmt(8, "launched", course, "2025-06-05T09:00:00+00:00")
    voided = _stmt(8, "completed", course, "2025-02-06T09:00:00+00:00")
    void = _stmt(8, "voided", "x", "2025-02-07T09:00:00+00:00")
    void["object"] = {"objectType": "StatementRef", "id": voided["id"]}
    _post(ralph, [early, kept, late, voided, void])
    cfg = LrsConfig.model_validate({
        "endpoint": ralph, "auth": {"username_env": "LRS_TEST_USER", "password_env": "LRS_TEST_PASS"},
        "since": "2025-02-01T00:00:00Z", "until": "2025-03-01T00:00:00Z",
        "activities": {course: "demo"}, "backoff": 0.001,
    })
    result = load_lrs(tmp_path, cfg, people=people)
    enr = result.tables.enrollments.set_index("person_id")
    # `early` and `late` are outside since / until (Ralph's fs backend
    # compares `timestamp` where the spec says `stored`); `voided` is voided.
    assert enr.loc["P07", "status"] == "in_progress" and enr.loc["P07", "enrolled_on"] == pd.Timestamp("2025-02-05")
    assert "P08" not in enr.index
    assert result.tables.stats["voided"] == 1 and result.tables.stats["voiding"] == 1
    assert result.fetched == 3


def test_wrong_password_is_refused_naming_the_variables_not_the_value(ralph: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LRS_TEST_USER", USER)
    monkeypatch.setenv("LRS_TEST_PASS", "not-the-password-123")
    cfg = LrsConfig.model_validate({"endpoint": ralph, "auth": {"username_env": "LRS_TEST_USER", "password_env": "LRS_TEST_PASS"},
                                    "retries": 0})
    with pytest.raises(SourceError) as exc:
        load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}))
    text = str(exc.value)
    assert "HTTP 401" in text and "LRS_TEST_USER / LRS_TEST_PASS" in text
    assert "not-the-password-123" not in text and not (tmp_path / ".lopsnb-cache").exists()


def test_unset_credential_variable_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LRS_TEST_PASS", raising=False)
    monkeypatch.setenv("LRS_TEST_USER", USER)
    cfg = LrsConfig.model_validate({"endpoint": "http://127.0.0.1:9/xAPI/",
                                    "auth": {"username_env": "LRS_TEST_USER", "password_env": "LRS_TEST_PASS"}})
    with pytest.raises(SourceError) as exc:
        load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}), field_path="sources.enrollments.lrs")
    (problem,) = exc.value.problems
    assert problem.column == "sources.enrollments.lrs.auth.password_env"
    assert "LRS_TEST_PASS is not set" in problem.found


def test_secret_written_in_place_of_a_variable_name_is_not_echoed(tmp_path: Path) -> None:
    cfg = LrsConfig.model_validate({"endpoint": "http://127.0.0.1:9/xAPI/", "auth": {"token_env": "tok-3f9!secret value"}})
    with pytest.raises(SourceError) as exc:
        load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}))
    assert "tok-3f9!secret" not in str(exc.value) and "auth.token_env" in str(exc.value)


def test_only_prefixed_variables_can_be_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
    cfg = LrsConfig.model_validate({"endpoint": "https://lrs.example.com/xAPI/", "auth": {"token_env": "AWS_SECRET_ACCESS_KEY"}})
    with pytest.raises(SourceError) as exc:
        load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}))
    assert "without the LRS_ or LOPSNB_ prefix" in str(exc.value) and "aws-secret-value" not in str(exc.value)


def test_credentials_are_not_sent_over_plain_http_to_another_host(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LRS_TEST_TOKEN", "tok")
    cfg = LrsConfig.model_validate({"endpoint": "http://lrs.example.com/xAPI/", "auth": {"token_env": "LRS_TEST_TOKEN"}})
    with pytest.raises(SourceError, match="plain http with credentials"):
        load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}))


def test_endpoint_with_credentials_is_refused_without_echo(tmp_path: Path) -> None:
    cfg = LrsConfig.model_validate({"endpoint": "https://user:hunter2@lrs.example.com/xAPI/"})
    with pytest.raises(SourceError) as exc:
        load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}))
    assert "hunter2" not in str(exc.value) and "endpoint" in str(exc.value)


def test_unknown_lrs_key_names_the_field_and_line(make_workspace) -> None:
    root = make_workspace(enrollments=None)
    (root / "workspace.yml").write_text(
        "sources:\n  enrollments:\n    lrs:\n      endpoint: http://127.0.0.1:9/xAPI/\n      password: hunter2\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    (problem,) = exc.value.problems
    assert problem.column == "sources.enrollments.lrs.password" and problem.row == 5
    assert "hunter2" not in str(exc.value)


def test_documented_lrs_example_is_a_valid_workspace_config() -> None:
    import yaml

    from lopsnb.io.workspace import WorkspaceConfig

    text = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    block = text.split("### LRS sources", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    config = WorkspaceConfig.model_validate(yaml.safe_load(block))
    source = config.sources["enrollments"]
    assert isinstance(source, lrs_module.LrsSource) and source.lrs.auth is not None
    assert source.lrs.auth.password_env == "LRS_PASSWORD" and source.lrs.since is not None


class _Scripted(BaseHTTPRequestHandler):
    """A stand-in answering from a script, for what Ralph cannot show: 5xx answers and IRI filters.

    (Ralph 5.1's fs backend matches no ``activity`` or ``verb`` filter.)
    """

    failures = 0
    pages: dict[str, dict] = {}
    seen: list[tuple[str, dict[str, list[str]], str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        type(self).seen.append((parts.path, query, self.headers.get("X-Experience-API-Version", "")))
        if len(type(self).seen) <= type(self).failures:
            self.send_response(503)
            self.end_headers()
            return
        page = type(self).pages.get(query.get("verb", ["*"])[0] + query.get("page", [""])[0], {"statements": []})
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[str]:
    _Scripted.failures, _Scripted.pages, _Scripted.seen = 0, {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/xAPI"
    finally:
        server.shutdown()
        server.server_close()


def test_retries_with_exponential_backoff_on_5xx(scripted: str, tmp_path: Path, monkeypatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(lrs_module, "_sleep", sleeps.append)
    _Scripted.failures = 2
    cfg = LrsConfig.model_validate({"endpoint": scripted, "retries": 3, "backoff": 0.25})
    result = load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}))
    assert sleeps == [0.25, 0.5]  # two failures, doubling
    assert [v for _p, _q, v in _Scripted.seen] == ["1.0.3"] * 3
    assert result.fetched == 0 and result.pages == 1


def test_unwritable_local_copy_still_loads(scripted: str, tmp_path: Path) -> None:
    a = _stmt(7, "completed", COURSE, "2025-02-05T09:00:00+00:00", stored="2025-02-05T09:00:01+00:00")
    _Scripted.pages = {"*": {"statements": [a]}}
    (tmp_path / ".lopsnb-cache").write_text("a file where the cache folder would go", encoding="utf-8")
    cfg = LrsConfig.model_validate({"endpoint": scripted, "activities": {COURSE: "demo"}})
    result = load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P07"], "email": ["p7@acme.example"]}))
    assert result.copy_error is not None and "not written" in result.note(scripted)
    assert result.tables.enrollments["status"].tolist() == ["completed"]


def test_lrs_workspace_is_never_served_from_the_table_cache_and_its_copy_survives_pruning(scripted: str, make_workspace) -> None:
    from lopsnb.io.cache import _prune, build_cache, find_cache, source_signature

    root = make_workspace(enrollments=None)
    (root / "workspace.yml").write_text(f"sources:\n  enrollments:\n    lrs: {{endpoint: '{scripted}'}}\n", encoding="utf-8")
    ws = load_workspace(root)
    assert ws.enrollments.empty and ws.sources["enrollments"] == f"lrs:{scripted}"
    assert source_signature(root)["volatile"] is True  # the LRS may change without a file showing it
    built = build_cache(ws)
    assert find_cache(root, True) is None
    copy = root / ".lopsnb-cache" / "lrs"
    assert copy.is_dir()
    for i in range(5):
        (built.parent / f"old{i}").mkdir()
    _prune(built.parent, built)
    assert copy.is_dir() and (copy / next(copy.iterdir()).name / "state.json").is_file()


def test_activities_beside_lrs_instead_of_inside_is_named(make_workspace) -> None:
    root = make_workspace(enrollments=None)
    (root / "workspace.yml").write_text(
        "sources:\n  enrollments:\n    lrs: {endpoint: 'http://127.0.0.1:9/xAPI/'}\n    activities: {x: demo}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    (problem,) = exc.value.problems
    assert problem.column == "sources.enrollments.activities" and problem.found == "no such field" and problem.row == 4


def test_naive_since_is_a_problem_naming_the_field(make_workspace) -> None:
    root = make_workspace(enrollments=None)
    (root / "workspace.yml").write_text(
        "sources:\n  enrollments:\n    lrs:\n      endpoint: http://127.0.0.1:9/xAPI/\n      since: 2026-01-01T00:00:00\n",
        encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    (problem,) = exc.value.problems
    assert problem.column == "sources.enrollments.lrs.since" and problem.row == 5 and "timezone" in problem.expected


def test_filters_fetch_voiding_separately_and_overlapping_pages_count_once(scripted: str, tmp_path: Path) -> None:
    course = COURSE + "/filtered"
    a = _stmt(7, "completed", course, "2025-02-05T09:00:00+00:00", stored="2025-02-05T09:00:01+00:00")
    b = _stmt(7, "launched", course, "2025-02-01T09:00:00+00:00", stored="2025-02-05T09:00:02+00:00")
    void = _stmt(7, "voided", "x", "2025-02-07T09:00:00+00:00", stored="2025-02-07T09:00:00+00:00")
    void["object"] = {"objectType": "StatementRef", "id": a["id"]}
    completed = VERB + "completed"
    # Page 2 repeats `a` (pages overlapping while the LRS was written to).
    _Scripted.pages = {
        completed: {"statements": [a], "more": f"/xAPI/statements?verb={urllib.parse.quote(completed)}&page=2"},
        completed + "2": {"statements": [a, b]},
        VERB + "voided": {"statements": [void]},
    }
    cfg = LrsConfig.model_validate({"endpoint": scripted, "activity": course, "verb": completed,
                                    "activities": {course: "demo"}})
    result = load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P07"], "email": ["p7@acme.example"]}))
    paths = [(p, {k: v[0] for k, v in q.items()}) for p, q, _v in _Scripted.seen]
    assert paths[0] == ("/xAPI/statements", {"activity": course, "verb": completed})
    assert paths[1][1]["page"] == "2"
    assert paths[2] == ("/xAPI/statements", {"verb": VERB + "voided"})  # no activity filter: a StatementRef has none
    assert result.duplicates == 1 and result.fetched == 3
    enr = result.tables.enrollments.set_index("person_id")
    assert enr.loc["P07", "status"] == "in_progress"  # the completion was voided

    # The next load asks only for what was stored after the latest `stored` seen, per query.
    _Scripted.seen = []
    again = load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P07"], "email": ["p7@acme.example"]}))
    since = [q.get("since", [None])[0] for _p, q, _v in _Scripted.seen if "page" not in q]
    assert since == ["2025-02-05T08:59:02+00:00", "2025-02-07T08:59:00+00:00"]  # latest stored less OVERLAP
    # This stand-in ignores `since`, so everything comes again and is counted once.
    assert again.duplicates == 4 and again.fetched == 0 and again.cached == 3


def test_unreachable_lrs_gives_up_after_the_retries(tmp_path: Path, monkeypatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(lrs_module, "_sleep", sleeps.append)
    cfg = LrsConfig.model_validate({"endpoint": f"http://127.0.0.1:{_free_port()}/xAPI/", "retries": 2, "backoff": 1.0,
                                    "timeout": 5})
    with pytest.raises(SourceError) as exc:
        load_lrs(tmp_path, cfg, people=pd.DataFrame({"person_id": ["P00"]}))
    assert sleeps == [1.0, 2.0] and "after 3 attempt(s)" in str(exc.value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
