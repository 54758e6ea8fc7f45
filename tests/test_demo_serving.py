"""Serving the demo beyond loopback: a password (gradio's login), an upload limit, a reverse-proxy root,
and a warning about what an open port exposes. The server runs on 127.0.0.1 like tests/test_demo.py."""

import os
import signal
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from vim import cli
from vim.demo.app import (
    AUTH_ENV,
    Demo,
    exposure_warnings,
    parse_credentials,
    parse_file_size,
    read_auth_file,
    resolve_auth,
)

PASSWORD = "correct:horse battery"  # a colon and a space inside: the line splits at the first colon only
LIMIT = 20 * 1024  # --max-file-size 20kb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(small_bundle, tmp_path):
    """`vim demo` itself, in its own process, with two users from a file, a 20 kb limit and a proxy root."""
    users = tmp_path / "users"
    users.write_text(f"# who may use the demo\nalice:{PASSWORD}\n\nbob:hunter2\n")
    users.chmod(0o600)
    port = free_port()
    argv = ["demo", "--checkpoint", str(small_bundle), "--port", str(port), "--auth-file", str(users)]
    argv += ["--max-file-size", "20kb", "--root-path", "/vim"]
    gradio_temp = tmp_path / "gradio"  # where Gradio would keep every upload and result forever
    gradio_temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != AUTH_ENV} | {"PYTHONUNBUFFERED": "1"}
    env["GRADIO_TEMP_DIR"] = str(gradio_temp)
    log = tmp_path / "terminal.txt"
    with log.open("w") as terminal:
        # A shell that starts pytest in the background has SIGINT ignored, and an ignored signal stays ignored
        # in children. A handled one is reset to the default by exec, so the child's Python installs its Ctrl-C
        # handler and the SIGINT below closes the server.
        previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "vim.cli", *argv], stdout=terminal, stderr=terminal, env=env
            )
        finally:
            signal.signal(signal.SIGINT, previous_handler)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 150
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(url).status_code == 200:  # the login page: loaded, compiled, listening
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        yield url, log
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does: gradio closes the server
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    left = [p for p in gradio_temp.rglob("*") if not p.is_dir()]  # (gradio makes an empty folder at import)
    assert left == [] and not list(gradio_temp.glob("vim-demo-cache-*")), f"left behind at shutdown: {left}"


def test_password_and_upload_limit_through_gradio_client(served, tmp_path):
    url, terminal = served
    # Refused: no login at all (the API too, not only the page), and a wrong password.
    assert httpx.get(f"{url}gradio_api/info").status_code == 401
    assert httpx.post(f"{url}gradio_api/call/generate", json={"data": ["a red circle"]}).status_code == 401
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("alice", "correct:horse"), verbose=False)
    # Served: the right password.
    client = Client(url, auth=("alice", PASSWORD), verbose=False)
    gallery, note, _ = client.predict("a red circle", 1, 3.0, 1.0, 0, 1.0, 0, 0, False, api_name="/generate")
    assert len(gallery) == 1 and "1 image(s) in" in note

    small, big = tmp_path / "small.png", tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8)).save(small)
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)).save(big)
    assert small.stat().st_size < LIMIT < big.stat().st_size
    # Oversized: gradio_client reads the limit from the server's config and refuses before sending ...
    with pytest.raises(ValueError, match=f"exceeds the maximum file size of {LIMIT} bytes"):
        client.predict(handle_file(str(big)), api_name="/reconstruct")
    # ... and the server refuses what a client without that check sends anyway.
    with httpx.Client(base_url=url) as raw:
        assert raw.post("login", data={"username": "bob", "password": "hunter2"}).status_code == 200
        refused = raw.post("gradio_api/upload", files={"files": ("big.png", big.read_bytes())})
        assert refused.status_code == 413, (refused.status_code, refused.text)
        assert refused.text == f"File size exceeded maximum allowed size of {LIMIT} bytes."
        assert raw.get("config").json()["root"].endswith("/vim")  # --root-path reached gradio
    # Still healthy: an upload under the limit and a generation both succeed after the refusals.
    _, _, _, stats = client.predict(handle_file(str(small)), api_name="/reconstruct")
    assert "PSNR" in stats
    assert len(client.predict("a blue square", 1, 3.0, 1.0, 0, 1.0, 1, 0, False, api_name="/generate")[0]) == 1
    client.close()
    said = terminal.read_text()
    assert "users: alice, bob" in said  # who may log in is said ...
    assert PASSWORD not in said and "hunter2" not in said, said  # ... never how
    # Everything Gradio and vim wrote is in the demo's own folder, removed at shutdown (the fixture checks).
    (cache,) = (tmp_path / "gradio").glob("vim-demo-cache-*")
    assert any(p.suffix == ".png" for p in cache.rglob("*"))


def test_the_tokenizer_tab_refuses_files_over_the_limit_that_gradio_fetched_itself(tmp_path):
    """gradio limits uploads, not the files it downloads when a client sends a URL as the input: the tab's
    handler checks every file first (a stand-in for the Demo: the check runs before any model is used)."""
    big = tmp_path / "big.png"
    big.write_bytes(bytes(LIMIT + 1))
    with pytest.raises(gr.Error, match=f"big.png is {LIMIT + 1:,} bytes, over this demo's upload limit of 20,480"):
        stand_in = SimpleNamespace(max_file_size=LIMIT, cache=SimpleNamespace(prune=lambda: None))
        stand_in._upload = lambda path: Demo._upload(stand_in, path)
        Demo.reconstruct(stand_in, str(big))


@pytest.mark.parametrize(
    ("size", "expected"),
    [("10mb", 10 * 1024**2), ("500kb", 500 * 1024), ("2 GB", 2 * 1024**3), ("123", 123), ("7b", 7), (4096, 4096)],
)
def test_file_sizes_in_gradios_units(size, expected):
    assert parse_file_size(size) == expected


@pytest.mark.parametrize("size", ["10xb", "mb", "1.5mb", "-1", "0", 0])
def test_bad_file_sizes_name_the_flag(size):
    with pytest.raises(ValueError, match=r"^--max-file-size: "):
        parse_file_size(size)


@pytest.mark.parametrize("text", ["nocolon-s3cret", ":s3cret", "alice:", "alice: s3cret", " alice:s3cret"])
def test_bad_logins_name_their_source_and_never_the_password(text):
    with pytest.raises(ValueError, match=r"^--auth: ") as error:
        parse_credentials(text, "--auth")
    assert "s3cret" not in str(error.value)


def test_auth_file_errors_say_which_line(tmp_path):
    users = tmp_path / "users"
    users.write_text("alice:s3cret\nbob s3cret\n")
    with pytest.raises(ValueError, match=r"line 2: expected USER:PASSWORD") as error:
        read_auth_file(users)
    assert "s3cret" not in str(error.value)
    users.write_text("alice:one\nalice:two\n")
    with pytest.raises(ValueError, match="line 2: user 'alice' is listed twice"):
        read_auth_file(users)
    users.write_text("# nobody yet\n\n")
    with pytest.raises(ValueError, match="holds no user:password line"):
        read_auth_file(users)


def test_auth_from_the_flag_else_the_file_else_the_environment(tmp_path, caplog):
    users = tmp_path / "users"
    users.write_text("bob:from-file\n")  # mode 644 here: readable by others, which is worth a warning
    environ = {AUTH_ENV: "carol:from-env"}
    assert resolve_auth("alice:from-flag", None, environ) == [("alice", "from-flag")]
    assert resolve_auth(None, str(users), environ) == [("bob", "from-file")]
    assert "chmod 600" in caplog.text
    assert resolve_auth(None, None, environ) == [("carol", "from-env")]
    assert resolve_auth(None, None, {}) is None
    with pytest.raises(ValueError, match=f"^\\${AUTH_ENV}: expected USER:PASSWORD"):
        resolve_auth(None, None, {AUTH_ENV: ""})  # an unset shell variable must not open the demo


def test_open_host_without_password_warns_what_it_exposes():
    (warning,) = exposure_warnings("0.0.0.0", 7860, None, 10 * 1024**2)
    exposes = ("0.0.0.0:7860 with no password", "generate images", "10,485,760 bytes", "/gradio_api", "--auth-file")
    for exposed in exposes:
        assert exposed in warning, warning
    (warning,) = exposure_warnings("192.168.1.5", 80, [("alice", "s3cret")], 1)
    assert "plain HTTP" in warning and "s3cret" not in warning
    for loopback in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert exposure_warnings(loopback, 7860, None, 1) == []


def test_cli_refuses_bad_values_and_passes_the_login_from_the_environment(monkeypatch, capsys):
    # The real launch: it checks its values before loading anything.
    for argv, flag in ((["--auth", "s3cret"], "--auth"), (["--max-file-size", "ten"], "--max-file-size")):
        assert cli.main(["demo", "--checkpoint", "/nonexistent", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"vim: error: {flag}: ") and "s3cret" not in err, err
    seen = {}
    monkeypatch.setattr("vim.demo.app.launch", lambda checkpoint, **kw: seen.update(kw))
    monkeypatch.setenv(AUTH_ENV, "carol:from-env")
    assert cli.main(["demo", "--host", "0.0.0.0", "--root-path", "/vim"]) == 0
    assert seen["auth"] == [("carol", "from-env")] and seen["root_path"] == "/vim"
    assert seen["max_file_size"] == "10mb" and seen["host"] == "0.0.0.0"
