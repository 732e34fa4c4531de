"""What a process made at start leaves the garbage collector's full passes (gc.freeze).

A full collection (generation 2) walks every object the collector tracks. A started
process holds 120,000-200,000 of them that live as long as it does (modules, FastAPI's
routes, pydantic's validators, SQLAlchemy's tables, nameko's extensions), and a full pass
over them cost 125-230 ms on this machine, paid by whichever request was running when
one came: every 100-130 Open311 ``requests.json`` answers (1,000 rows each, so many young
objects promoted) waited that long, which was the whole p99 (issue 12: 220-290 ms at a
p50 of 80 ms). ``gc.freeze()`` moves what exists at that moment to the permanent
generation, which no pass walks; later passes see only what was made since. Nothing made
at start is ever freed anyway, so nothing is lost; a cycle made after start is collected
as before. Called once, when the process is ready to serve: the gateway at the end of its
lifespan's start (only when it serves: gateway/main.py asks for it, a test process
building apps must not), a service after its container started.
"""
from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left as garbage, then freeze the rest; how many are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
