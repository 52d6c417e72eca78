"""Soak and crash benchmark: minutes of steady load, a SIGKILL midway, then what survived.

Starts `iccs serve` (production mode, its own data dir, rate limit off, as bench_service does)
and `iccs worker`, offers `--rate` single-text requests/s (open loop, distinct texts in turn)
for `--minutes`, and submits batch files (POST /v1/batches) for the worker: one at the start, a
bigger one (several checkpointed chunks) 5 s before the crash. Midway it kills the service
and the worker with SIGKILL, restarts both and carries on. At the end it checks that every
answered request (HTTP 200) has its stored classification and that every batch row is in its
batch's results exactly once.

    python benchmarks/soak.py                       # 10 minutes on SQLite, champion model
    python benchmarks/soak.py --minutes 3 --database-url \\
        postgresql+psycopg://postgres@127.0.0.1:5432/test   # a fresh schema, dropped at the end
    python benchmarks/soak.py --minutes 3 --readme README.md

Requests that fail while the service is down (in flight at the kill, or refused until it is
back) were never acknowledged: they are counted apart, not as errors. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import (
    ROOT,
    TEXTS,
    Connection,
    ensure_model,
    free_port,
    service_env,
    start_server,
    wait_ready,
)
from readme_block import read_block, write_block

HOST = "127.0.0.1"
CLIENTS = 16
BATCH_LEAD_S = 5.0  # the second batch goes in this long before the kill


# ---- processes -------------------------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's supervisor and its worker processes)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.is_file():
        for child in children.read_text().split():
            pids += process_tree(int(child))
    return pids


def rss_mib(pid: int) -> float:
    """Current resident memory of a process tree (Linux /proc)."""
    total = 0.0
    for p in process_tree(pid):
        status = Path(f"/proc/{p}/status")
        if status.is_file():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return round(total, 1)


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole tree at once: nothing gets to flush, finish a request or clean up."""
    for p in process_tree(process.pid):
        with suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    process.wait(timeout=30)


def start_worker(workdir: Path, bundle: Path, database_url: str | None) -> subprocess.Popen[bytes]:
    log = (workdir / "worker.log").open("ab")
    command = [sys.executable, "-m", "iccs.cli", "worker"]
    env = service_env(workdir, bundle, database_url)
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


@contextmanager
def fresh_schema(admin_url: str | None) -> Iterator[str | None]:
    """A private PostgreSQL schema for the run, dropped afterwards (None: SQLite)."""
    if not admin_url:
        yield None
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"iccs_soak_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield admin.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False
            )
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


# ---- batch jobs over HTTP ----------------------------------------------------------------------
def http(port: int, key: str, method: str, path: str, body: bytes = b"", ctype: str = "") -> bytes:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", data=body or None)
    request.method = method
    request.add_header("Authorization", f"Bearer {key}")
    if ctype:
        request.add_header("Content-Type", ctype)
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def submit_batch(port: int, key: str, name: str, rows: int, offset: int) -> tuple[str, set[str]]:
    """Upload a CSV of `rows` real texts; returns the job id and the row ids it must return."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "text"])
    ids = [f"{name}-{n}" for n in range(rows)]
    for n, row_id in enumerate(ids):
        writer.writerow([row_id, TEXTS[(offset + n) % len(TEXTS)]])
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{buffer.getvalue()}\r\n--{boundary}--\r\n"
    ).encode()
    answer = http(
        port, key, "POST", "/v1/batches", body, f"multipart/form-data; boundary={boundary}"
    )
    return str(json.loads(answer)["id"]), set(ids)


def check_batch(
    port: int, key: str, batch_id: str, expected: set[str], wait: float
) -> dict[str, Any]:
    """Wait for the job, then count each expected row id in its results."""
    deadline = time.monotonic() + wait
    state = "unknown"
    while time.monotonic() < deadline:
        state = json.loads(http(port, key, "GET", f"/v1/batches/{batch_id}"))["state"]
        if state in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(2)
    if state != "succeeded":
        return {"rows": len(expected), "state": state, "ok": False}
    lines = http(port, key, "GET", f"/v1/batches/{batch_id}/results").splitlines()
    seen = Counter(str(json.loads(line)["id"]) for line in lines if line.strip())
    counts = {
        "duplicated": sum(1 for n in seen.values() if n > 1),
        "missing": len(expected - set(seen)),
        "unexpected": len(set(seen) - expected),
    }
    results = {"rows": len(expected), "state": state, "results": sum(seen.values()), **counts}
    return {**results, "ok": not any(counts.values())}


def stored_ids(database_url: str, ids: list[str]) -> set[str]:
    """Which of the acknowledged classification ids the database holds."""
    from sqlalchemy import select

    from service.db import Database
    from service.db.models import Classification

    database = Database(database_url)
    found: set[str] = set()
    try:
        with database.session() as session:
            for start in range(0, len(ids), 5000):
                chunk = [uuid.UUID(i) for i in ids[start : start + 5000]]
                query = select(Classification.id).where(Classification.id.in_(chunk))
                found.update(str(i) for i in session.scalars(query))
    finally:
        database.dispose()
    return found


# ---- the load ----------------------------------------------------------------------------------
@dataclass
class Soak:
    start: float = 0.0
    down_since: float | None = None  # the kill; None while the service is up
    latencies: dict[int, list[float]] = field(default_factory=dict)  # minute -> seconds
    errors: dict[int, Counter[str]] = field(default_factory=dict)
    lost: dict[int, int] = field(default_factory=dict)  # failed while the service was down
    acknowledged: list[str] = field(default_factory=list)  # classification ids answered 200

    def record(self, minute: int, status: int, payload: bytes, latency: float) -> None:
        if status == 200:
            self.latencies.setdefault(minute, []).append(latency)
            self.acknowledged.append(str(json.loads(payload)["classification_id"]))
        elif status < 0 and self.down_since is not None:
            self.lost[minute] = self.lost.get(minute, 0) + 1
        else:
            kind = {0: "timeout", -1: "connection failed"}.get(status, str(status))
            self.errors.setdefault(minute, Counter())[kind] += 1


async def offer(port: int, key: str, rate: float, seconds: float, soak: Soak, crash: Any) -> None:
    """Open loop at `rate`/s on CLIENTS keep-alive connections; `crash()` runs at the midpoint."""
    count = int(rate * seconds)
    offset = int(np.random.default_rng(7).integers(len(TEXTS)))
    connections = [Connection(HOST, port, key) for _ in range(CLIENTS)]
    await asyncio.gather(*(c.open() for c in connections))
    loop = asyncio.get_running_loop()
    soak.start = start = loop.time()
    next_index = 0

    async def client(connection: Connection) -> None:
        nonlocal next_index
        broken = False
        while next_index < count:
            n = next_index
            next_index += 1
            due = start + n / rate
            if due - loop.time() > 0:
                await asyncio.sleep(due - loop.time())
            body = json.dumps({"text": TEXTS[(offset + n) % len(TEXTS)], "case_id": f"soak-{n}"})
            try:
                if broken:
                    connection.close()
                    await connection.open()
                    broken = False
                status, payload = await connection.post(body.encode())
            except (OSError, asyncio.IncompleteReadError):
                broken, status, payload = True, -1, b""
            soak.record(int((due - start) // 60), status, payload, loop.time() - due)

    clients = [asyncio.ensure_future(client(c)) for c in connections]
    await asyncio.sleep(seconds / 2 - BATCH_LEAD_S)
    await crash()
    await asyncio.gather(*clients)
    for c in connections:
        c.close()


# ---- report ------------------------------------------------------------------------------------
def minute_rows(soak: Soak) -> list[dict[str, Any]]:
    rows = []
    for minute in sorted(set(soak.latencies) | set(soak.errors) | set(soak.lost)):
        ms = np.array(soak.latencies.get(minute, [np.nan])) * 1000
        rows.append(
            {
                "minute": minute + 1,
                "ok": len(soak.latencies.get(minute, [])),
                "errors": sum(soak.errors.get(minute, Counter()).values()),
                "lost_in_crash": soak.lost.get(minute, 0),
                "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p99_ms": round(float(np.percentile(ms, 99)), 1),
            }
        )
    return rows


def report(results: dict[str, Any]) -> str:
    lines = [
        f"{results['minutes']:g} minutes at {results['rate']:g} req/s offered ({CLIENTS} clients, "
        f"{len(TEXTS):,} distinct real texts in turn), {results['database']}, uvicorn "
        f"{results['workers']} worker(s) + "
        f"one `iccs worker`, load generator on the same machine ({os.cpu_count()} cores; "
        f"1-minute load average before {results['load_before']:.1f}, after "
        f"{results['load_after']:.1f}). Model: {results['model']}. SIGKILL of the service and "
        f"the worker at {results['kill_at_s']:.0f} s; both answered again after "
        f"{results['down_s']:.1f} s; the worker was killed with the second batch "
        f"{results['second_batch_at_kill'].get('state')}, checkpointed rows "
        f"{results['second_batch_at_kill'].get('rows_done')}.",
        "",
        "| minute | answered (200) | errors | lost in the crash (not acknowledged) | p50 ms "
        "| p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["per_minute"]:
        lines.append(
            f"| {r['minute']} | {r['ok']:,} | {r['errors']} | {r['lost_in_crash']:,} | "
            f"{r['p50_ms']} | {r['p99_ms']} |"
        )
    rss = results["rss_mib"]
    stored = results["stored"]
    batches = "; ".join(
        f"{b['rows']:,} rows, {b['state']}, {b.get('duplicated', '?')} duplicated, "
        f"{b.get('missing', '?')} missing ({'ok' if b['ok'] else 'MISSED'})"
        for b in results["batches"]
    )
    lines += [
        "",
        f"Answered requests with a stored result: {stored['found']:,} of {stored['answered']:,} "
        f"({'ok' if stored['ok'] else 'MISSED'}). Batches: {batches}. "
        f"RSS service / worker (MiB): start {rss['start'][0]:.0f} / {rss['start'][1]:.0f}, "
        f"before the kill {rss['middle'][0]:.0f} / {rss['middle'][1]:.0f}, end "
        f"{rss['end'][0]:.0f} / {rss['end'][1]:.0f}.",
    ]
    return "\n".join(lines)


def write_readme(readme: Path, text: str, label: str) -> None:
    """Replace this database's paragraph inside the soak block, keeping the other one."""
    block = read_block(readme, "soak")
    if block is None:
        print(f"{readme} has no soak block; not written", file=sys.stderr)
        return
    marker = f"<!-- soak:{label} -->"
    parts = dict(p.split(" -->\n", 1) for p in block.split("<!-- soak:")[1:] if " -->\n" in p)
    parts = {k: v.strip() for k, v in parts.items()}
    parts[label] = text
    write_block(
        readme, "soak", "\n\n".join(f"<!-- soak:{k} -->\n{v}" for k, v in sorted(parts.items()))
    )
    print(f"wrote {marker} into {readme}")


# ---- main --------------------------------------------------------------------------------------
def run(args: argparse.Namespace, workdir: Path, database_url: str | None) -> dict[str, Any]:
    bundle, label = ensure_model(workdir, args.model)
    url = database_url or f"sqlite:///{workdir / 'iccs.db'}"
    port = free_port()
    server, key = start_server(workdir, bundle, port, args.workers, database_url)
    worker = start_worker(workdir, bundle, database_url)
    seconds = args.minutes * 60
    soak = Soak()
    batch_ids: list[tuple[str, set[str]]] = []
    rss: dict[str, tuple[float, float]] = {}
    timing: dict[str, float] = {}
    at_kill: dict[str, Any] = {}  # the second batch's progress when the worker was killed
    try:
        wait_ready(port, server)
        batch_ids.append(submit_batch(port, key, "first", args.batch_rows, 0))
        rss["start"] = (rss_mib(server.pid), rss_mib(worker.pid))
        load_before = os.getloadavg()[0]

        async def crash() -> None:
            nonlocal server, worker
            # a bigger batch (several checkpointed chunks) so that the worker is mid-job when killed
            rows = args.crash_batch_rows
            second = asyncio.to_thread(submit_batch, port, key, "second", rows, 2000)
            batch_ids.append(await second)
            second_id = batch_ids[-1][0]
            await asyncio.sleep(BATCH_LEAD_S)
            rss["middle"] = (rss_mib(server.pid), rss_mib(worker.pid))
            state = await asyncio.to_thread(http, port, key, "GET", f"/v1/batches/{second_id}")
            at_kill.update({k: json.loads(state)[k] for k in ("state", "rows_done")})
            loop = asyncio.get_running_loop()
            soak.down_since = loop.time()
            timing["kill_at_s"] = loop.time() - soak.start
            kill_tree(server)
            kill_tree(worker)
            server, _ = await asyncio.to_thread(
                start_server, workdir, bundle, port, args.workers, database_url
            )
            worker = start_worker(workdir, bundle, database_url)
            await asyncio.to_thread(wait_ready, port, server)
            timing["down_s"] = loop.time() - soak.down_since
            await asyncio.sleep(1)  # let connections broken by the kill reconnect
            soak.down_since = None

        asyncio.run(offer(port, key, args.rate, seconds, soak, crash))
        rss["end"] = (rss_mib(server.pid), rss_mib(worker.pid))
        load_after = os.getloadavg()[0]
        checked = [check_batch(port, key, b, ids, args.batch_wait) for b, ids in batch_ids]
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=60)
    found, answered = stored_ids(url, soak.acknowledged), len(soak.acknowledged)
    return {
        "database": "PostgreSQL" if database_url else "SQLite",
        "minutes": args.minutes,
        "rate": args.rate,
        "workers": args.workers,
        "model": label,
        "load_before": load_before,
        "load_after": load_after,
        **timing,
        "per_minute": minute_rows(soak),
        "rss_mib": rss,
        "stored": {"answered": answered, "found": len(found), "ok": len(found) == answered},
        "batches": checked,
        "second_batch_at_kill": at_kill,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="Bundle to serve (default: champion).")
    parser.add_argument("--minutes", type=float, default=10.0, help="Length of the load.")
    parser.add_argument("--rate", type=float, default=100.0, help="Offered single-text req/s.")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn's.")
    parser.add_argument("--batch-rows", type=int, default=3000, help="Rows, first batch.")
    parser.add_argument(
        "--crash-batch-rows", type=int, default=30000, help="Rows, batch running at the kill."
    )
    parser.add_argument(
        "--batch-wait", type=float, default=600.0, help="Seconds to wait for the batches."
    )
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite).")
    parser.add_argument("--readme", type=Path, help="Write the figures into this README.")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="iccs-soak-") as tmp,
        fresh_schema(args.database_url) as database_url,
    ):
        results = run(args, Path(tmp), database_url)
    text = report(results)
    print(text)
    print(json.dumps(results))
    if args.readme:
        write_readme(args.readme, text, results["database"].lower())


if __name__ == "__main__":
    main()
