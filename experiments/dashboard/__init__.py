"""The teaching page (``kyoso dashboard``) and the classroom role-play, served by Solara.

``app.py`` holds the page (routes ``/`` and ``/classroom``); this package file
imports nothing from it nor from Solara, so the CLI can check for the ``viz``
extra and the port before anything starts.  :func:`serve` is what
``kyoso dashboard`` runs: it checks the extra and the port (a busy port is a
one-line error, checked *before* Solara starts), and starts Solara with
kyoso's page title and favicon (``assets/``), without the "runs on Solara"
banner, without telemetry or a version check (offline classrooms), and with
Solara's cookie warning silenced: on plain ``http`` (a classroom network)
Solara falls back to a ``samesite=lax`` session cookie and warns on every page
load; that cookie is what a page that is not embedded in another site needs.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import socket
import sys
from pathlib import Path

from experiments.errors import UserError

__all__ = ["APP", "ASSETS", "server_command", "server_env", "check_port", "check_extra", "serve"]

#: The file ``solara run`` serves.
APP = Path(__file__).resolve().parent / "app.py"
#: kyoso's favicon (``favicon.png``, ``favicon.svg``), served in place of Solara's.
ASSETS = Path(__file__).resolve().parent / "assets"
#: Modules of the ``viz`` extra the page needs.
VIZ_MODULES = ("solara", "solara_assets", "ipyvuetify", "matplotlib")


def server_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Solara runs in: kyoso's title, favicon, no banner, no telemetry, the cookie warning off."""
    env = dict(os.environ if base is None else base)
    warn = "ignore:Cookies with samesite=none require https:UserWarning"
    env.update({
        "SOLARA_THEME_TITLE": "kyoso",
        "SOLARA_THEME_SHOW_BANNER": "False",
        "SOLARA_ASSETS_EXTRA_LOCATIONS": str(ASSETS),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": ",".join(w for w in (env.get("PYTHONWARNINGS", ""), warn) if w),
    })
    return env


def server_command(host: str, port: int) -> list[str]:
    """``solara run`` for the page on ``host:port`` (production mode, no browser, no version check)."""
    return [sys.executable, "-m", "solara", "run", str(APP), "--host", host, "--port", str(port), "--production",
            "--no-open", "--no-check-version"]


def check_port(host: str, port: int) -> None:
    """A one-line :class:`UserError` if ``host:port`` cannot be listened on (in use, or not this machine's)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UserError(f"dashboard: --host {host}: not an address of this machine (expected e.g. 127.0.0.1 "
                        "or 0.0.0.0)") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"dashboard: port {port} on {host} is already in use (another kyoso dashboard?); "
                                f"choose another with --port, e.g. --port {port + 1}") from None
            raise UserError(f"dashboard: cannot listen on {host}:{port} ({exc.strerror}); "
                            "choose another --host or --port") from None


def check_extra() -> None:
    """A one-line :class:`UserError` naming the ``viz`` extra if a module of it is missing."""
    for module in VIZ_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):       # ValueError: a module set to None in sys.modules
            found = False
        if not found:
            raise UserError(f"dashboard: the viz extra is missing ({module} is not installed); "
                            "install it with: pip install -e '.[viz]'")


def serve(host: str = "127.0.0.1", port: int = 8765) -> int:
    """Run the page until Ctrl-C: what ``kyoso dashboard --host H --port P`` does.  Returns the exit status."""
    import subprocess

    check_extra()
    if not APP.is_file():
        raise UserError(f"dashboard: {APP} not found")
    check_port(host, port)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"kyoso dashboard: http://{shown}:{port}/ (classroom role-play: http://{shown}:{port}/classroom; "
          "Ctrl-C to stop)", flush=True)
    proc = subprocess.Popen(server_command(host, port), env=server_env())
    try:
        return proc.wait()
    except KeyboardInterrupt:        # Ctrl-C reaches solara too; let it finish
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
