"""The load side of ``bench/ingest.py``: concurrent clients in a separate process.

Imports no Django: it only speaks HTTP to the gunicorn under test and reads /proc for the CPU
the server side spent.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

DB_NAME = "musicsite_bench"
CONTEXTS = ["feed", "browse", "search", "radio", "track_page"]


# --- the load generator (runs in its own process; imports no Django) --------------------------


def _event(track_ids: list[int], started_at: str) -> dict:
    kind = random.choice(["start", "progress", "complete", "skip"])
    played = {"start": 0, "progress": 20_000, "complete": 175_000, "skip": 4_000}[kind]
    return {
        "client_event_id": str(uuid.uuid4()),
        "track": random.choice(track_ids),
        "type": kind,
        "started_at": started_at,
        "position_ms": played,
        "played_ms": played,
        "context": random.choice(CONTEXTS),
    }


def _client(port, tokens, track_ids, batch, deadline, out, lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started_at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    latencies, acked, errors, requests = [], set(), 0, 0  # requests: accepted (200) ones
    last_body = None
    while time.monotonic() < deadline:
        token = random.choice(tokens)
        retry = last_body is not None and random.random() < 0.05
        if retry:
            body, token = last_body
        else:
            events = [_event(track_ids, started_at) for _ in range(batch)]
            body = json.dumps(events[0] if batch == 1 else {"events": events})
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/listens/", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status == 200:
            requests += 1
            for result in json.loads(payload)["results"]:
                acked.add(result["client_event_id"])
            last_body = (body, token)
        else:
            errors += 1
    with lock:
        out.append(
            {"latencies": latencies, "acked": list(acked), "errors": errors, "requests": requests}
        )


def _drive(port, tokens, track_ids, batch, seconds, clients, queue) -> None:
    """Process entry point: run ``clients`` threads for ``seconds``; report through ``queue``."""
    out, lock = [], threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client, args=(port, tokens, track_ids, batch, deadline, out, lock))
        for _ in range(clients)
    ]
    t0 = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - t0
    latencies = sorted(x for o in out for x in o["latencies"])
    acked = {cid for o in out for cid in o["acked"]}
    queue.put(
        {
            "elapsed": elapsed,
            "requests": sum(o["requests"] for o in out),
            "errors": sum(o["errors"] for o in out),
            "acked": sorted(acked),
            "p50": statistics.median(latencies) if latencies else 0.0,
            "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
        }
    )


def _server_pids(gunicorn_pid: int) -> list[int]:
    """gunicorn's workers and the PostgreSQL backends serving the bench database."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == gunicorn_pid or DB_NAME.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return out


def run_phase(port, tokens, track_ids, *, batch, seconds, clients, gunicorn_pid=None) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(
        target=_drive, args=(port, tokens, track_ids, batch, seconds, clients, queue)
    )
    before = _cpu_seconds(_server_pids(gunicorn_pid)) if gunicorn_pid else {}
    process.start()
    result = queue.get(timeout=seconds + 120)
    process.join(timeout=30)
    if gunicorn_pid:
        after = _cpu_seconds(_server_pids(gunicorn_pid))
        result["server_cpu_s"] = sum(v - before.get(pid, 0.0) for pid, v in after.items())
    return result
