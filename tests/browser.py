"""Open a page from disk in headless Chromium and record what it did (for the report tests).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages
ending in NUL on file descriptors 3 and 4), with the standard library only. With the Network, Runtime,
Log and Page domains enabled before navigating, every request the page makes is seen
(``Network.requestWillBeSent``: embedded ``data:`` images appear there too, so the check is of what
the browser actually requested, not of a regex over the HTML), and so is every console error, uncaught
exception and browser-side error (a failed load, a Content-Security-Policy refusal). Host names
resolve to nothing (``--host-resolver-rules``), so a page that tried to reach the network is caught
without reaching it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NAMES = ("chromium-headless-shell", "chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--disable-extensions", "--mute-audio", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")  # a local docs server only


def find_chromium() -> str | None:
    for name in NAMES:
        if path := shutil.which(name):
            return path
    for pattern in ("/usr/lib/chromium*/chromium-headless-shell", "/usr/lib/chromium*/chromium",
                    "/usr/lib/chromium*/chrome"):
        for path in sorted(glob.glob(pattern)):
            if os.access(path, os.X_OK):
                return path
    return None


@dataclass
class PageVisit:
    url: str
    requests: list = field(default_factory=list)  # every URL the page requested, its own included
    errors: list = field(default_factory=list)  # console errors, exceptions, browser-side errors
    text: str = ""  # document.body.innerText: what a reader sees (closed <details> excluded)
    dom: str = ""  # the rendered document's outerHTML
    screenshot: bytes = b""

    @property
    def outside_requests(self) -> list:
        """Requests for anything but the page itself and its embedded data: images."""
        return [u for u in self.requests if u != self.url and not u.startswith("data:")]


class DevTools:
    def __init__(self, exe: str, profile: str):
        to_chrome, self._w = os.pipe()
        self._r, from_chrome = os.pipe()
        # Chromium expects the pipe ends on fds 3 and 4 exactly: park them high, then dup2 in the child
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome, from_chrome)]

        def child_fds():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen([exe, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      "--window-size=1280,900", "about:blank"],
                                     preexec_fn=child_fds, close_fds=False, start_new_session=True,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for fd in (to_chrome, from_chrome, *high):
            os.close(fd)
        self._buf, self._id, self.events = b"", 0, []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def _next(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.poll() is not None else ""
                raise RuntimeError(f"Chromium closed the DevTools pipe: {err}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for msg in self.events:
            if msg.get("method") == method:
                return msg
        while True:
            msg = self._next(deadline)
            self.events.append(msg)
            if msg.get("method") == method:
                return msg

    def close(self) -> None:
        """Ask the browser to quit; then end its process group (renderers included) if it lingers."""
        import signal

        try:
            if self.proc.poll() is None:
                self.send("Browser.close")
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this Popen started (start_new_session)
            self.proc.wait(timeout=30)
            os.close(self._w)
            os.close(self._r)
            self.proc.stderr.close()


def visit(path, *, exe: str | None = None, full_page: bool = False, width: int = 1280, height: int = 900,
          timeout: float = 90) -> PageVisit:
    """Load ``path`` from disk (or an http URL: a local server's), wait for its load event, and record requests, errors, text and a screenshot."""
    import base64

    exe = exe or find_chromium()
    if exe is None:
        raise FileNotFoundError("no Chromium found")
    url = path if str(path).startswith(("http://", "https://")) else Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="mpt-chromium-", ignore_cleanup_errors=True) as profile:
        tools = DevTools(exe, profile)
        try:
            target = tools.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
            session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Network", "Runtime", "Log", "Page"):
                tools.call(f"{domain}.enable", session=session)
            tools.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                              "deviceScaleFactor": 1, "mobile": False}, session=session)
            tools.events.clear()  # about:blank's own events
            tools.call("Page.navigate", {"url": url}, session=session)
            tools.wait_event("Page.loadEventFired", timeout=timeout)

            def evaluate(expression: str):
                out = tools.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
                return out["result"].get("value")

            result = PageVisit(url=url, text=evaluate("document.body.innerText"),
                               dom=evaluate("document.documentElement.outerHTML"))
            shot = {"format": "png", "captureBeyondViewport": full_page}
            if full_page:
                size = tools.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
                shot["clip"] = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
            result.screenshot = base64.b64decode(tools.call("Page.captureScreenshot", shot, session=session,
                                                            timeout=timeout)["data"])
        finally:
            tools.close()
    for msg in tools.events:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            result.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            result.errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            result.errors.append(f"exception: {details.get('text', '')} "
                                 f"{details.get('exception', {}).get('description', '')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            result.errors.append(f"{params['entry'].get('source')}: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    return result


def blank_fraction(png: bytes) -> float:
    """The share of pixels that have the image's most common colour (1.0: a blank image)."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    return float(counts.max() / len(pixels))


def require_chromium() -> str:
    """The Chromium to use, or skip the calling test with the reason (shown by pytest -ra)."""
    import pytest

    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium not found (looked for " + ", ".join(NAMES) + " on PATH and in "
                    "/usr/lib/chromium*/): install Debian's chromium-headless-shell (as .ci/run does) to run the "
                    "browser test")
    return exe


def check_page(path, *, must_show=()) -> PageVisit:
    """The report checks: nothing requested but the page and its data: images, no error, a screenshot
    that is not blank, and every text of ``must_show`` visible on the page."""
    v = visit(path, exe=require_chromium())
    assert v.requests and v.requests[0] == v.url, v.requests[:3]
    assert v.outside_requests == [], f"the page requested {v.outside_requests}"
    assert v.errors == [], f"the page logged errors: {v.errors}"
    assert blank_fraction(v.screenshot) < 0.97, "the screenshot is blank"
    text = " ".join(v.text.split())
    missing = [t for t in must_show if t not in text]
    assert not missing, f"not visible as text: {missing}"
    return v
