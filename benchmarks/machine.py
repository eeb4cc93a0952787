"""What the benchmarks record about the machine they ran on (imported by the scripts in this folder)."""

from __future__ import annotations

import platform
import subprocess


def cpu_name() -> str:
    """The CPU model as ``lscpu`` names it (timings are only comparable on the same model)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"
