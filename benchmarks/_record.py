"""Recorded benchmark results: one JSON file per benchmark, read by the book's appendix.

A benchmark calls `save` once, at the end of a run, with what it measured. The file,
``benchmarks/results/<name>.json``, is committed: the book shows the *last recorded*
run (it never re-runs a benchmark at build time), with the date, the machine and the
command that produced it. The layout (version 1)::

    {
      "format": 1,
      "benchmark": "pyramid",              # the script's short name
      "title": "...",                      # one line: what was measured
      "date": "2026-12-02T18:40:00+00:00", # when the run finished (UTC)
      "command": "make bench ...",         # how to run it again
      "seconds": 812.4,                    # the whole run, inputs included
      "machine": {"cores": 2, "memory_gib": 23.4, "cpu": "...", "system": "Linux ...",
                  "python": "3.11.7", "load_average": [[0.1, 0.1, 0.0], [2.1, 1.9, 1.2]]},
      "versions": {"data_helpers": "...", "zarr": "...", ...},
      "targets": [                         # the rows of the issue's table
        {"measure": "...", "result": "1.17x (2.30 s vs 2.69 s)", "value": 1.17,
         "target": ">= 1.0x", "met": true}
      ],
      "runs": [                            # every contender and configuration
        {"contender": "data_helpers", "config": "256x1024x1024",
         "seconds": [2.3, 2.4], "cpu": [4.1, 4.2], "peak_mib": [210, 212]}
      ]
    }

``runs`` entries may carry more keys (``mb_per_s``, ``levels``...); the appendix
plots ``seconds`` (or ``mb_per_s``) and ``peak_mib`` when present.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shlex
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
FORMAT = 1


@dataclass
class Target:
    """One row of an issue's table: what was measured, the result and the target."""

    measure: str
    result: str  # as printed, e.g. "1.17x (2.30 s vs 2.69 s)"
    value: float | None  # the number the target is about, e.g. 1.17
    target: str  # e.g. ">= 1.0x"
    met: bool | None  # None: not measured in this run


@dataclass
class Run:
    """One contender in one configuration: every repeat's numbers."""

    contender: str
    config: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def machine(load_at_start: tuple[float, ...]) -> dict[str, Any]:
    """The machine the run was on, with the load average at its start and at its end."""
    memory_gib = None
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        memory_gib = round(kib / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cores": os.cpu_count(), "memory_gib": memory_gib, "cpu": cpu or "unknown",
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "load_average": [[round(x, 2) for x in load_at_start],
                         [round(x, 2) for x in os.getloadavg()]],
    }


def versions(packages: list[str]) -> dict[str, str]:
    """Installed versions of ``packages`` (those not installed are left out)."""
    found = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def save(
    benchmark: str, *, title: str, targets: list[Target], runs: list[Run],
    packages: list[str], load_at_start: tuple[float, ...], seconds: float,
    command: str | None = None, results: Path = RESULTS,
) -> Path:
    """Write ``results/<benchmark>.json`` (atomically) and return its path."""
    if command is None:
        command = os.environ.get("BENCH_COMMAND") or shlex.join(
            [Path(sys.executable).name, *sys.argv])
    record = {
        "format": FORMAT, "benchmark": benchmark, "title": title,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command, "seconds": round(seconds, 1),
        "machine": machine(load_at_start), "versions": versions(packages),
        "targets": [asdict(t) for t in targets], "runs": [asdict(r) for r in runs],
    }
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{benchmark}.json"
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(partial, path)
    return path


def load(benchmark: str, results: Path = RESULTS) -> dict[str, Any] | None:
    """The last recorded run of ``benchmark``, or None when there is none."""
    path = results / f"{benchmark}.json"
    if not path.exists():
        return None
    record: dict[str, Any] = json.loads(path.read_text())
    if record.get("format") != FORMAT:
        raise ValueError(f"{path} has format {record.get('format')!r}, expected {FORMAT}")
    return record
