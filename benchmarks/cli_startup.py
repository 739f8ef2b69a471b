"""How long `vpp --help` takes, beside an empty Python start.

Run (from the repository root, with the package installed)::

    python benchmarks/cli_startup.py              # best of 5
    python benchmarks/cli_startup.py --repeats 9

Every figure is the wall time of a fresh process doing what a user does, best of
``--repeats`` (the best is the least disturbed by other work on the machine):

- ``python -c pass``: the interpreter alone, the floor no command can go under;
- ``vpp --help``: the public path, the installed console script next to this interpreter
  (``python -m trading.cli --help`` if it is missing);
- ``vpp <command> --help`` for a few commands, which import that command's libraries.

Then the ten slowest imports of ``vpp --help`` by ``python -X importtime`` (cumulative
microseconds), to show where the remaining time goes. Goal: ``vpp --help`` under 0.5 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.5


def vpp() -> list[str]:
    """The `vpp` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("vpp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "trading.cli"]


def best_of(command: list[str], repeats: int) -> float:
    """The shortest wall time of `repeats` runs of `command` [s]."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def slowest_imports(count: int) -> list[tuple[int, str]]:
    """The `count` top-level imports of ``vpp --help`` with the largest cumulative time [us]."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "trading.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            if not name.startswith("  "):  # a top-level import (indent = nesting)
                rows.append((int(parts[1]), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("vpp --help", [*vpp(), "--help"]),
        ("vpp keys --help", [*vpp(), "keys", "--help"]),
        ("vpp serve --help", [*vpp(), "serve", "--help"]),
        ("vpp optimise --help", [*vpp(), "optimise", "--help"]),
    ]
    print(f"wall time, best of {args.repeats}:")
    figures = {}
    for label, command in cases:
        figures[label] = best_of(command, args.repeats)
        print(f"  {label:<22} {figures[label]:7.3f} s")
    verdict = "OK" if figures["vpp --help"] < GOAL_S else "FAIL"
    print(f"vpp --help under {GOAL_S} s: {verdict}")
    print("slowest top-level imports of vpp --help (cumulative):")
    for micros, name in slowest_imports(10):
        print(f"  {micros / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
