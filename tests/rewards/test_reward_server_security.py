"""The reward server is closed to code injection and refuses an open bind without a key.

Each case of issue 11 is one test: the request names ``module:attr`` as its processor; the
server must answer 4xx, import nothing, touch nothing the payload points at, and log at most one
line.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from test_reward_server import running

from longtracerl.cli import main
from longtracerl.config import ConfigError
from longtracerl.rewards.judge import RuleJudge
from longtracerl.rewards.server import check_bind, create_app, is_loopback
from tests.helpers.llm_servers import free_port


@pytest.fixture(scope="module")
def server():
    with running(create_app(RuleJudge())) as url:
        yield url


@pytest.fixture()
def imports(monkeypatch):
    """Every module name passed to importlib.import_module while the test runs."""
    seen: list[str] = []
    real = importlib.import_module

    def spy(name, package=None):
        seen.append(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", spy)
    return seen


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<a/>")

    def log_message(self, *args):
        pass


@pytest.fixture()
def canary_url():
    """A loopback HTTP server that records every GET (a blind-SSRF canary)."""
    _Recorder.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/secret.xml", _Recorder.hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def _attack(url: str, processor: str, response: str, caplog) -> httpx.Response:
    body = {"responses": [response], "label": "x", "question": "q", "processor": processor}
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        r = httpx.post(f"{url}/evaluate_group", json=body, timeout=30)
    assert 400 <= r.status_code < 500, r.text
    server_lines = [rec for rec in caplog.records if rec.name.split(".")[0] not in ("httpx", "httpcore")]
    assert len(server_lines) <= 1, [rec.getMessage() for rec in server_lines]  # the client's own lines aside
    return r


def _not_imported(imports: list[str], module: str) -> None:
    assert not [m for m in imports if m == module or m.startswith(module + ".")], imports


def test_xml_sax_make_parser_fetches_nothing(server, imports, canary_url, caplog):
    url, hits = canary_url
    r = _attack(server, "xml.sax:make_parser", url, caplog)
    assert r.status_code == 422 and "built-in processor" in r.text
    _not_imported(imports, "xml.sax")
    assert hits == []  # no request reached the canary: no SSRF


def test_elementtree_opens_no_file(server, imports, tmp_path, caplog, monkeypatch):
    secret = tmp_path / "passwd"
    secret.write_text("<root>secret</root>")
    opened: list[str] = []
    import builtins

    real_open = builtins.open

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    r = _attack(server, "xml.etree.ElementTree:ElementTree", str(secret), caplog)
    assert r.status_code == 422
    _not_imported(imports, "xml.etree")
    assert str(secret) not in opened


def test_this_s_prints_nothing(server, imports, capfd, caplog):
    was_loaded = "this" in sys.modules
    r = _attack(server, "this:s", "anything", caplog)
    assert r.status_code == 422
    _not_imported(imports, "this")
    assert ("this" in sys.modules) == was_loaded
    assert "Beautiful is better" not in capfd.readouterr().out


def test_torch_tensor_is_not_built(server, imports, caplog):
    r = _attack(server, "torch:Tensor", "1" * 1000, caplog)
    assert r.status_code == 422
    _not_imported(imports, "torch")
    assert httpx.get(f"{server}/health", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "processor",
    [
        "os:system",
        "builtins:eval",
        "subprocess:Popen",
        "longtracerl.rewards.parse:GenericProcessor",  # even our own classes: names only
        "qwen3-thinking:x",
        "QWEN3-THINKING",
    ],
)
def test_any_module_attr_is_refused(server, imports, processor, caplog):
    r = _attack(server, processor, "r\n</think>\n\nx<|im_end|>", caplog)
    assert r.status_code == 422 and "qwen3-thinking" in r.text
    assert imports == []


def test_builtin_names_still_work(server):
    body = {"responses": ["r\n</think>\n\nx<|im_end|>"], "label": "x", "processor": "deepseek-r1-qwen3"}
    r = httpx.post(f"{server}/evaluate_group", json=body, timeout=30)
    assert r.status_code == 200
    assert r.json()["results"][0]["gate_reasons"] == ["wrong_stop_token"]


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("myhost.example", False)],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_check_bind():
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "key")
    check_bind("0.0.0.0", None, insecure_no_key=True)
    with pytest.raises(ConfigError, match="--insecure-no-key"):
        check_bind("0.0.0.0", None)


def test_cli_refuses_open_bind_without_key(monkeypatch, capsys):
    import uvicorn

    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(kw))
    assert main(["serve-reward", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "without a bearer key" in capsys.readouterr().err and started == []
    assert main(["serve-reward", "--host", "0.0.0.0", "--port", "1", "--insecure-no-key"]) == 0
    assert started and started[0]["host"] == "0.0.0.0"
    monkeypatch.setenv("REWARD_TEST_KEY", "k")
    assert (
        main(["serve-reward", "--host", "0.0.0.0", "--port", "1", "--auth-key-env", "REWARD_TEST_KEY"]) == 0
    )
    assert len(started) == 2
