"""Run every benchmark against the champion model, one after the other, and print their figures.

    python benchmarks/run_all.py [--readme README.md]

`--readme` lets the service and bulk benchmarks rewrite their tables in the README.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path)
    args = parser.parse_args()
    readme = ["--readme", str(args.readme)] if args.readme else []
    runs = [
        [sys.executable, str(HERE / "bench_model.py")],
        [sys.executable, str(HERE / "bench_service.py"), *readme],
        [sys.executable, str(HERE / "bench_bulk.py"), *readme],
        [sys.executable, str(HERE / "bench_review_groups.py")],
    ]
    failed = 0
    for command in runs:
        print(f"== {' '.join(Path(c).name for c in command[1:])}", flush=True)
        failed += subprocess.run(command, check=False).returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
