"""HTTP service benchmark: latency and throughput of `POST /v1/classify` under real HTTP load.

Starts the service with uvicorn in a child process on 127.0.0.1 (its own temporary SQLite
database and API key, classifications stored as in production), then drives it from this process
with an asyncio HTTP/1.1 keep-alive load generator (raw sockets, so the generator itself costs
little CPU on a small machine):

1. paced load: 16 concurrent connections offering `--rate` requests/s of single-text requests
   (open loop: latency counts from the moment a request was due, so a stalled server cannot hide
   its queueing; "coordinated omission" corrected);
2. saturation: 16 connections sending back to back, for the most requests/s;
3. 100-text requests, one at a time.

    python benchmarks/bench_service.py                      # champion, else the tiny test model
    python benchmarks/bench_service.py --model models/iccs-classifier/20251126-101500
    python benchmarks/bench_service.py --readme README.md   # write the figures into the README

The per-key rate limit is switched off for the run (it would otherwise be what is measured).
Prints its figures and exits 0 even when a target is missed; not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_block import write_block  # noqa: E402
from workload import real_texts  # noqa: E402

TARGETS = {"p50_ms": 15.0, "p99_ms": 60.0, "rps": 200.0, "batch100_ms": 300.0}
TEXTS = real_texts(4096)  # distinct real titles and short narratives (workload.py)


# ---- the load generator --------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection; enough protocol for uvicorn's JSON answers."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.head = (
            f"POST /v1/classify HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def post(self, body: bytes, timeout: float = 60.0) -> tuple[int, bytes]:
        """(status, body); status 0 after `timeout` seconds (the connection is then replaced)."""
        try:
            return await asyncio.wait_for(self._post(body), timeout)
        except TimeoutError:
            self.close()
            await self.open()
            return 0, b""

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        match = re.search(rb"(?i)content-length:\s*(\d+)", header)
        payload = await self.reader.readexactly(int(match.group(1))) if match else b""
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, status: int, latency: float) -> None:
        if status == 200:
            self.latencies.append(latency)
        else:
            self.error(str(status) if status else "timeout")

    def error(self, kind: str, count: int = 1) -> None:
        if count:
            self.errors[kind] = self.errors.get(kind, 0) + count

    def summary(self) -> dict[str, Any]:
        ms = np.array(self.latencies) * 1000 if self.latencies else np.array([np.nan])
        return {
            "requests": len(self.latencies) + sum(self.errors.values()),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "rps": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p90_ms": round(float(np.percentile(ms, 90)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "max_ms": round(float(ms.max()), 2),
        }


def single_bodies(count: int, seed: int) -> list[bytes]:
    """Requests for distinct texts in turn (a text recurs only after all others were sent)."""
    offset = int(np.random.default_rng(seed).integers(len(TEXTS)))
    return [
        json.dumps({"text": TEXTS[(offset + n) % len(TEXTS)], "case_id": f"bench-{n}"}).encode()
        for n in range(count)
    ]


async def paced(host: str, port: int, key: str, rate: float, count: int, clients: int) -> Run:
    """Open loop: request n is due at n/rate; any free connection takes the next due request."""
    bodies = single_bodies(count, seed=1)
    connections = [Connection(host, port, key) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    run, next_index = Run(), 0
    loop = asyncio.get_running_loop()
    start = loop.time()

    # A server far slower than the offered rate would take ages to drain the backlog: stop
    # sending at twice the planned duration and count the rest as not sent.
    give_up = start + 2 * count / rate + 10

    async def worker(connection: Connection) -> None:
        nonlocal next_index
        while next_index < count and loop.time() < give_up:
            n = next_index
            next_index += 1
            due = start + n / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            status, _ = await connection.post(bodies[n])
            run.record(status, loop.time() - due)

    await asyncio.gather(*(worker(c) for c in connections))
    run.seconds = loop.time() - start
    run.error("not sent (server too slow)", count - next_index)
    for c in connections:
        c.close()
    return run


async def saturate(host: str, port: int, key: str, seconds: float, clients: int) -> Run:
    """Closed loop: every connection sends its next request as soon as the answer arrives."""
    bodies = single_bodies(4096, seed=2)
    connections = [Connection(host, port, key) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    run = Run()
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def worker(offset: int, connection: Connection) -> None:
        n = offset
        while loop.time() - start < seconds:
            sent = loop.time()
            status, _ = await connection.post(bodies[n % len(bodies)])
            run.record(status, loop.time() - sent)
            n += clients

    await asyncio.gather(*(worker(i, c) for i, c in enumerate(connections)))
    run.seconds = loop.time() - start
    for c in connections:
        c.close()
    return run


async def batches(
    host: str, port: int, key: str, repeats: int, size: int, budget: float = 60.0
) -> Run:
    """`repeats` requests of `size` texts, one at a time (fewer if `budget` seconds run out)."""
    connection = Connection(host, port, key)
    await connection.open()
    rng = np.random.default_rng(3)
    run = Run()
    loop = asyncio.get_running_loop()
    start = loop.time()
    for r in range(repeats):
        if r and loop.time() - start > budget:
            break
        items = [
            {"id": str(i), "text": TEXTS[t]}
            for i, t in enumerate(rng.integers(len(TEXTS), size=size))
        ]
        body = json.dumps({"items": items}).encode()
        sent = loop.time()
        status, _ = await connection.post(body)
        run.record(status, loop.time() - sent)
    run.seconds = loop.time() - start
    connection.close()
    return run


# ---- the server ------------------------------------------------------------------------------
def ensure_model(workdir: Path, model: Path | None, tiny: bool = False) -> tuple[Path, str]:
    from iccs.bundle import champion_path

    if model is not None:
        return model, f"{model}"
    champion = None if tiny else champion_path()
    if champion is not None and (champion / "config.json").is_file():
        return (
            champion,
            f"champion {champion.relative_to(ROOT) if champion.is_relative_to(ROOT) else champion}",
        )
    from iccs.bundle import save_bundle
    from iccs.classifier import ClassifierConfig, ICCSClassifier
    from iccs.taxonomy import load_taxonomy
    from tests.conftest import TINY_TEXTS, tiny_training_rows

    texts, codes = tiny_training_rows(load_taxonomy())
    config = ClassifierConfig(
        embedders=[], knn_embedder=None, max_word_features=5000, max_char_features=8000
    )
    trained = ICCSClassifier(config).fit(
        texts,
        codes,
        dev_texts=[t for t, _ in TINY_TEXTS[::3]],
        dev_codes=[c for _, c in TINY_TEXTS[::3]],
    )
    bundle = workdir / "models" / "iccs-classifier" / "tiny-bench"
    save_bundle(trained, bundle, {"name": "iccs-classifier", "version": "tiny-bench"})
    why = "asked for" if tiny else "no champion under models/"
    return bundle, (f"the tests' tiny model (TF-IDF only, {len(trained.classes_)} classes; {why})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(workdir: Path, bundle: Path, database_url: str | None = None) -> dict[str, str]:
    """Production settings for `iccs serve` and `iccs worker`; SQLite in `workdir` by default."""
    env = {
        **os.environ,
        "ICCS_ENV": "production",
        "ICCS_DATA_DIR": str(workdir),
        "ICCS_MODEL_PATH": str(bundle),
        "ICCS_RATE_LIMIT_PER_MINUTE": "0",
        "ICCS_MAX_ITEMS": "1000",
    }
    env.pop("ICCS_DATABASE_URL", None)
    if database_url:
        env["ICCS_DATABASE_URL"] = database_url
    return env


def start_server(
    workdir: Path, bundle: Path, port: int, workers: int, database_url: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    from service.api_keys import create_api_key
    from service.db import Database

    env = service_env(workdir, bundle, database_url)
    database = Database(database_url or f"sqlite:///{workdir / 'iccs.db'}")
    database.upgrade()
    with database.session() as session:
        _, key = create_api_key(session, "submitter", "benchmark")
    database.dispose()
    log = (workdir / "server.log").open("ab")  # appended: a restarted server keeps the log
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iccs.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    return server, key


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited; see server.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


# ---- report ----------------------------------------------------------------------------------
def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "ok" if ok else "MISSED"


def report(results: dict[str, Any], model_label: str, workers: int, rate: float) -> str:
    runs = results["runs"]
    lines = [
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, uvicorn "
        f"{workers} worker(s), SQLite (every result stored), load generator on the same machine; "
        f"1-minute load average before the run {results['load_before']:.1f}, after "
        f"{results['load_after']:.1f}. Model: {model_label}. Every request a distinct real text.",
        "",
        "| run | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        lines.append(
            f"| {name} | {r['requests']} | {r['errors']} | {r['rps']} | {r['p50_ms']} | "
            f"{r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} |"
        )
    p = runs[f"paced {rate:.0f} req/s, 16 clients"]
    errors = sum(r["errors"] for r in runs.values())
    stored = results["stored"]
    lines += [
        "",
        f"Targets at {rate:.0f} req/s offered with 16 clients: p50 <= 15 ms "
        f"({verdict(p['p50_ms'], 15)}), p99 <= 60 ms ({verdict(p['p99_ms'], 60)}), "
        f">= 400 req/s ({verdict(p['rps'], 400, True)}), no errors "
        f"({'ok' if not errors else 'MISSED'}); results stored: {stored['rows']:,} rows for "
        f"{stored['answered']:,} answered texts ({'ok' if stored['ok'] else 'MISSED'}). "
        f"Server peak memory {results['server_peak_mib']:.0f} MiB.",
    ]
    return "\n".join(lines)


def stored_rows(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM classifications").fetchone()[0])


def peak_mib(pid: int) -> float:
    """Peak resident memory of the server and its worker processes (Linux /proc)."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.is_file():
        pids += [int(c) for c in children.read_text().split()]
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.is_file():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="Bundle to serve (default: champion).")
    parser.add_argument(
        "--tiny", action="store_true", help="Serve the tests' tiny model even if a champion exists."
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="Default: the machine's cores."
    )
    parser.add_argument("--rate", type=float, default=400.0, help="Offered req/s, paced run.")
    parser.add_argument("--seconds", type=float, default=15.0, help="Length of each load run.")
    parser.add_argument("--batches", type=int, default=20, help="100-text requests to time.")
    parser.add_argument("--readme", type=Path, help="Write the figures into this README.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iccs-bench-") as tmp:
        workdir = Path(tmp)
        bundle, label = ensure_model(workdir, args.model, args.tiny)
        port = free_port()
        server, key = start_server(workdir, bundle, port, args.workers)
        host = "127.0.0.1"
        try:
            wait_ready(port, server)
            asyncio.run(saturate(host, port, key, 3.0, 16))  # warm-up
            results: dict[str, Any] = {"load_before": os.getloadavg()[0], "runs": {}}
            runs = results["runs"]
            for clients in (1, 4, 16):
                run = asyncio.run(saturate(host, port, key, args.seconds, clients))
                runs[f"saturation, {clients} client{'s' * (clients > 1)}"] = run.summary()
            paced_run = paced(host, port, key, args.rate, int(args.rate * args.seconds), clients=16)
            runs[f"paced {args.rate:.0f} req/s, 16 clients"] = asyncio.run(paced_run).summary()
            runs["100 texts per request"] = asyncio.run(
                batches(host, port, key, args.batches, 100)
            ).summary()
            results["load_after"] = os.getloadavg()[0]
            results["server_peak_mib"] = peak_mib(server.pid)
        except Exception as exc:  # the benchmark reports, it does not fail the build
            print(f"benchmark failed: {exc}", file=sys.stderr)
            log = workdir / "server.log"
            if log.is_file():
                print(log.read_text()[-3000:], file=sys.stderr)
            return
        finally:
            server.terminate()
            server.wait(timeout=30)
        big = runs["100 texts per request"]
        answered = sum(
            r["requests"] - r["errors"] for name, r in runs.items() if not name.startswith("100")
        ) + 100 * (big["requests"] - big["errors"])
        rows = stored_rows(workdir / "iccs.db")
        # the warm-up's requests are stored too: at least one row per answered text
        results["stored"] = {"rows": rows, "answered": answered, "ok": rows >= answered}
    text = report(results, label, args.workers, args.rate)
    print(text)
    print(json.dumps({"model": label, "workers": args.workers, **results}))
    if args.readme and not write_block(args.readme, "bench_service", text):
        print(f"{args.readme} has no bench_service block; not written", file=sys.stderr)


if __name__ == "__main__":
    main()
