"""The services yield the cores to the gateway (前台优先): queue-based load levelling.

A clue is safe once the broker has confirmed it, so in a surge the front door should keep
answering 202 while the services work through the backlog with the cores left over. Every
service process lowers its own CPU priority at start (``SERVICE_NICE``, default 19, the
class of batch work; 0 leaves it as it was). It changes nothing while cores are idle.

Two knobs, because Linux has two: the process's nice value, and, where the kernel groups
processes by session (``/proc/sys/kernel/sched_autogroup_enabled``), the nice value of the
process's autogroup, which is what the scheduler weighs between sessions. ``make run`` and
the tests start each service in a session of its own; a service that is not its session's
leader (started by hand from a shell) leaves the autogroup alone, so as not to slow down
the shell and whatever else it started. In containers, cgroups decide: see ``cpu_shares``
in docker-compose.yml.
"""
from __future__ import annotations

import os
from pathlib import Path

AUTOGROUP = Path("/proc/self/autogroup")


def yield_cpu(niceness: int, autogroup: Path = AUTOGROUP) -> list[str]:
    """Lower this process's CPU priority to ``niceness`` (0-19, never raised); return what
    could not be done, for the caller to log."""
    if not 0 <= niceness <= 19:
        raise ValueError(f"niceness must be 0-19, not {niceness}")
    problems = []
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) < niceness:
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except OSError as exc:
        problems.append(f"nice {niceness}: {exc}")
    if niceness and autogroup.exists() and os.getsid(0) == os.getpid():
        try:
            autogroup.write_text(str(niceness))
        except OSError as exc:
            problems.append(f"autogroup nice {niceness}: {exc}")
    return problems
