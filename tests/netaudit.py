"""Run Python code in a subprocess and record every network operation it attempts.

Two layers, because one is not enough:
- a ``sitecustomize`` installs an audit hook (``sys.addaudithook``) before any other import and
  logs ``socket.connect`` / ``socket.sendto`` / ``socket.getaddrinfo`` / ``socket.gethostbyname``
  with their targets: this sees everything done through Python's ``socket`` module (httpx,
  urllib, requests, posthog, huggingface_hub...);
- when ``strace`` is available and allowed, the same run is traced for ``connect``/``sendto``
  system calls of every thread and child process: this also sees native code (Chroma's Rust
  bindings, onnxruntime, llama.cpp) that never calls into Python's ``socket``.

``Audit.outside`` lists what was contacted that is neither loopback nor a local (Unix) socket.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import ROOT

SITECUSTOMIZE = r"""
import json, os, socket, sys

_LOG = os.environ["KUTIP_NET_AUDIT_LOG"]
_EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname",
           "socket.gethostbyname_ex", "socket.gethostbyaddr"}


def _hook(event, args):
    if event not in _EVENTS:
        return
    try:
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            sock, address = args[0], args[1]
            family = getattr(sock, "family", None)
            entry = {"event": event, "family": getattr(family, "name", str(family)), "address": repr(address),
                     "host": address[0] if isinstance(address, tuple) else None}
        else:
            entry = {"event": event, "host": args[0] if args else None, "address": repr(args)}
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
    except Exception as exc:  # never break the program under test
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"event": "hook-error", "error": repr(exc)}) + "\n")


sys.addaudithook(_hook)
"""

_STRACE_ADDR = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def is_local_host(host: object) -> bool:
    """Loopback addresses, ``localhost`` and "no host" (``getaddrinfo(None, ...)`` for binding)."""
    if host is None or host == "" or host == "localhost":
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def strace_usable() -> bool:
    if not shutil.which("strace"):
        return False
    probe = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect", "-o", os.devnull, "true"], capture_output=True
    )
    return probe.returncode == 0


@dataclass
class Audit:
    proc: subprocess.CompletedProcess
    python_events: list[dict] = field(default_factory=list)
    native_targets: list[str] | None = None  # None: strace not available

    @property
    def outside(self) -> list[str]:
        bad = []
        for e in self.python_events:
            if e["event"] == "hook-error":
                bad.append(f"audit hook failed: {e['error']}")
            elif e.get("family") == "AF_UNIX":
                continue
            elif not is_local_host(e.get("host")):
                bad.append(f"{e['event']} {e['address']}")
        for target in self.native_targets or []:
            if not is_local_host(target):
                bad.append(f"connect() to {target} (native)")
        return bad

    @property
    def connects(self) -> list[str]:
        """``host:port`` of every TCP/UDP connect seen by the audit hook."""
        return [
            e["address"] for e in self.python_events if e["event"] == "socket.connect" and e.get("family") != "AF_UNIX"
        ]


def run_audited(code: str, workdir: Path, *, env: dict[str, str] | None = None, timeout: float = 600) -> Audit:
    """Run ``code`` with the audit hook (and under strace when possible); return what it contacted.

    The telemetry switches the test session sets for itself (``ANONYMIZED_TELEMETRY``,
    ``GRADIO_ANALYTICS_ENABLED``) are removed, so the product's own defaults are what is tested.
    """
    site = workdir / "netaudit_site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = workdir / "netaudit.jsonl"
    log.unlink(missing_ok=True)
    run_env = {k: v for k, v in os.environ.items() if k not in ("ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED")}
    run_env.update(env or {})
    run_env["KUTIP_NET_AUDIT_LOG"] = str(log)
    run_env["PYTHONPATH"] = os.pathsep.join(
        [str(site), str(ROOT)] + ([run_env["PYTHONPATH"]] if run_env.get("PYTHONPATH") else [])
    )
    command = [sys.executable, "-c", code]
    trace = workdir / "netaudit.strace"
    use_strace = strace_usable()
    if use_strace:
        command = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace), *command]
    proc = subprocess.run(command, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=timeout)
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    native = None
    if use_strace:
        native = []
        for line in trace.read_text(errors="replace").splitlines():
            if "AF_INET" in line:
                for v4, v6 in _STRACE_ADDR.findall(line):
                    native.append(v4 or v6)
    return Audit(proc=proc, python_events=events, native_targets=native)
