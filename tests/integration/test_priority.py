"""kit.priority: a service lowers its CPU priority, and its session's autogroup only when
the session is its own (in a child process: a priority, once lowered, stays lowered)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kit.priority import yield_cpu
from kit.settings import ROOT

pytestmark = pytest.mark.integration

PROBE = """
import json, os, sys
from pathlib import Path
from kit.priority import yield_cpu
group = Path(sys.argv[1])
problems = yield_cpu(int(sys.argv[2]), autogroup=group)
print(json.dumps({"nice": os.getpriority(os.PRIO_PROCESS, 0), "problems": problems,
                  "group": group.read_text()}))
"""


def probe(tmp_path, niceness: int, *, own_session: bool) -> dict:
    group = tmp_path / "autogroup"
    group.write_text("untouched")
    out = subprocess.run([sys.executable, "-c", PROBE, str(group), str(niceness)], cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                         check=True, start_new_session=own_session).stdout
    return json.loads(out)


def test_a_session_leader_lowers_itself_and_its_autogroup(tmp_path):
    assert probe(tmp_path, 19, own_session=True) == {"nice": 19, "problems": [], "group": "19"}


def test_a_process_in_someone_elses_session_leaves_the_autogroup_alone(tmp_path):
    assert probe(tmp_path, 7, own_session=False) == {"nice": 7, "problems": [],
                                                     "group": "untouched"}


def test_zero_changes_nothing(tmp_path):
    assert probe(tmp_path, 0, own_session=True)["group"] == "untouched"


def test_a_niceness_out_of_range_is_refused():
    with pytest.raises(ValueError, match="0-19"):
        yield_cpu(20)
