"""``make bench``: every figure of docs/PERFORMANCE.md, a table on stdout and bench/results.json.

``python -m bench [--quick]`` (``--quick``: smaller inputs and fewer runs, to try the suite out).
"""

from __future__ import annotations

import os

# Before anything of the service is imported (its logger reads the level once): fake credentials
# (moto only) and no per-call JSON log lines or metric blobs, so the table stays readable. Child
# processes inherit these.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Rostering",
    }
)
from local.resources import resource_environment

os.environ.update(resource_environment())
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

import json
import platform
import sys
import time
from pathlib import Path

from bench import coldstart, importer, ordering, upload
from bench.harness import Figure

RESULTS = Path(__file__).parent / "results.json"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(figures: list[Figure]) -> str:
    head = f"{'name':26} {'measured':>12} {'floor':>12} {'unit':>17} {'ratio':>7} {'target':>8} {'ok':>3} {'spread':>7}"
    lines = [head, "-" * len(head)]
    for f in figures:
        target = f"{'>=' if f.higher_is_better else '<='} {f.target:g}"
        lines.append(
            f"{f.name:26} {f.measured:12.2f} {f.floor:12.2f} {f.unit:>17} {f.ratio:7.3f} {target:>8} "
            f"{'yes' if f.ok else 'NO':>3} {f.spread:7.1%}"
        )
    return "\n".join(lines)


def main() -> int:
    quick = "--quick" in sys.argv
    started = time.perf_counter()
    load = os.getloadavg()
    figures: list[Figure] = []
    figures += upload.upload_direct(3 if quick else 9)
    figures += upload.upload_gzip(3 if quick else 7)
    figures += coldstart.run(4 if quick else 16)
    figures += importer.run(quick)
    figures += upload.vs_starlette(3 if quick else 9)
    figures += ordering.handover(2 if quick else 5)
    elapsed = time.perf_counter() - started
    machine = (
        f"{os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}, "
        f"load average {load[0]:.2f} at start / {os.getloadavg()[0]:.2f} at end, {elapsed:.0f} s"
    )
    print(table(figures))
    for figure in figures:
        if figure.note:
            print(f"  {figure.name}: {figure.note}")
    print(machine)
    RESULTS.write_text(json.dumps([figure.record() for figure in figures], indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
