"""Start-up time of the commands people type most: `ganzoo list` and `ganzoo --help`.

    python bench/startup.py [--repeat 7]

Each command runs as a fresh process; the table shows the median and the slowest wall time.
Target: at most 0.5 s on a 2-core machine. It holds because plugin modules import torch only
inside what builds components, and the registry lists components without building them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (["list"], ["--help"], ["list", "plugins"])
TARGET_S = 0.5


def wall_time(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ganzoo", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"start-up, {args.repeat} runs each (target <= {TARGET_S} s)",
                  title_justify="left")
    for column in ("command", "median s", "slowest s", "within target"):
        table.add_column(column, justify="left" if column == "command" else "right")
    wall_time(["--help"])  # warm the file cache once
    for command in COMMANDS:
        times = [wall_time(command) for _ in range(args.repeat)]
        table.add_row("ganzoo " + " ".join(command), f"{statistics.median(times):.3f}",
                      f"{max(times):.3f}", "yes" if max(times) <= TARGET_S else "NO")
    Console().print(table)


if __name__ == "__main__":
    main()
