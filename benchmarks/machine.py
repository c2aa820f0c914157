"""What machine a benchmark ran on: the CPU model and its vector extensions (recorded with
every result, since sessions run on different CPUs: AMD AVX2, Intel AVX-512)."""

import pathlib
import platform


def cpu_info():
    """{"model": CPU model name, "flags": its avx*/fma/amx* extensions}, from /proc/cpuinfo."""
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model": platform.processor() or "unknown", "flags": []}
    fields = {}
    for line in text.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields.setdefault(key.strip(), value.strip())
    flags = sorted(f for f in fields.get("flags", "").split() if f.startswith(("avx", "fma", "amx")))
    return {"model": fields.get("model name", platform.processor() or "unknown"), "flags": flags}


def cpu_model():
    """The CPU model name alone."""
    return cpu_info()["model"]
