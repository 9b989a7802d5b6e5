"""What the browser tests share: Chromium, a Solara server on a free port, and CI's rule that a missing
browser fails (``CI=true``) where a developer's machine skips."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str, what: str) -> None:
    """Skip on a developer's machine; fail in CI, where ``.ci/run`` installs what the browser tests need."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the {what} must run in CI; .ci/run installs Chromium)")
    pytest.skip(reason)


def require_browser(what: str) -> Path:
    """Chromium and the Python packages a browser test needs, or skip/fail (see :func:`missing`)."""
    for module, extra in (("playwright", "test"), ("solara", "viz")):
        if importlib.util.find_spec(module) is None:
            missing(f"{module} is not installed (pip install -e '.[{extra}]')", what)
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} not found (apt-get install -y chromium)", what)
    return CHROMIUM


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and everything it started (it runs in its own process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


@contextmanager
def solara_server(command: Sequence[str], env: dict[str, str], log_path: Path, port: int,
                  timeout: float = 60.0) -> Iterator[str]:
    """Start ``command`` (a ``solara run`` on ``port``) with its output in ``log_path``; yield its URL once it
    answers, stop it and its children after."""
    log = log_path.open("wb")
    proc = subprocess.Popen(list(command), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara exited with status {proc.returncode}:\n"
                            f"{log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"solara did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        stop(proc)
        log.close()
