"""A headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages, NUL-terminated, on file descriptors 3 and 4), so one browser process loads every
page of the site, runs script in it and takes screenshots. Nothing is downloaded: it uses the
Chromium found on PATH, and the pages it opens must be local (file:// or 127.0.0.1)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

from ..errors import UsageError
from ..utils.atomic import atomic_write_bytes

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars", "--remote-debugging-pipe"]


def find_chromium() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _onto_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: the pipe ends onto fds 3 and 4 (via fresh copies, as either may be 3 or 4 already)."""
    a, b = os.dup(read_end), os.dup(write_end)
    os.dup2(a, 3)
    os.dup2(b, 4)


class Chromium:
    """``with Chromium(width=1280) as b: b.open(url); b.evaluate("document.title")``."""

    def __init__(self, width: int = 1280, height: int = 900, timeout_s: float = 60.0):
        exe = find_chromium()
        if exe is None:
            raise UsageError("no Chromium on PATH (apt-get install chromium)")
        self.width, self.height, self.timeout_s = width, height, timeout_s
        self._profile = tempfile.mkdtemp(prefix="sb-chromium-")
        to_browser, self._write = os.pipe()  # the browser reads commands on fd 3 ...
        self._read, from_browser = os.pipe()  # ... and answers on fd 4
        self._proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=lambda: _onto_3_and_4(to_browser, from_browser))
        os.close(to_browser)
        os.close(from_browser)
        self._buf, self._next_id, self._events = b"", 0, []
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable"):
            self._call(domain, session=True)
        self._call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                   deviceScaleFactor=1, mobile=False)

    # ------------------------------------------------------------ protocol
    def _send(self, method: str, session: bool, params: Dict[str, Any]) -> int:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self._session
        os.write(self._write, json.dumps(msg).encode() + b"\0")
        return self._next_id

    def _message(self, deadline: float) -> Dict[str, Any]:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _call(self, method: str, session: bool = False, **params) -> Dict[str, Any]:
        want = self._send(method, session, params)
        deadline = time.monotonic() + self.timeout_s
        while True:
            msg = self._message(deadline)
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            self._events.append(msg)

    def _wait_event(self, method: str) -> Dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method:
                    return self._events.pop(i)
            self._events.append(self._message(deadline))

    # ------------------------------------------------------------ what callers use
    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event (every image decoded or failed)."""
        self._events.clear()
        self._call("Page.navigate", session=True, url=url)
        self._wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        res = self._call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                         awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"script failed: {res['exceptionDetails'].get('text')}: {expression[:80]}")
        return res["result"].get("value")

    def screenshot(self, path: str | Path) -> Path:
        """PNG of the viewport (width × height) at the current scroll position."""
        data = self._call("Page.captureScreenshot", session=True, format="png")["data"]
        atomic_write_bytes(path, base64.b64decode(data))
        return Path(path)

    def close(self) -> None:
        try:
            self._call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def screenshot_page(page: str | Path, png: str | Path, width: int = 1280, height: int = 900) -> Path:
    """A ``width`` × ``height`` screenshot of a local HTML page (e.g. the site's index)."""
    page = Path(page).resolve()
    if not page.is_file():
        raise UsageError(f"no page {str(page)!r} to take a screenshot of")
    with Chromium(width, height) as browser:
        browser.open(page.as_uri())
        return browser.screenshot(png)
