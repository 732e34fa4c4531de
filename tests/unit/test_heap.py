"""kit.heap: what start made leaves the full GC passes (issue 12's Open311 p99)."""
from __future__ import annotations

import gc
import weakref

from kit.heap import freeze_startup_heap


def tracked(obj, objects) -> bool:
    return any(o is obj for o in objects)


class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it


def test_start_up_garbage_is_collected_and_what_lives_is_frozen():
    garbage = Node()
    dead = weakref.ref(garbage)
    del garbage
    kept = Node()
    try:
        frozen = freeze_startup_heap()
        assert dead() is None  # collected before the freeze, not frozen forever
        assert frozen == gc.get_freeze_count() > 0
        assert not tracked(kept, gc.get_objects())  # frozen: outside every generation
    finally:
        gc.unfreeze()
    assert tracked(kept, gc.get_objects(2))  # unfrozen: back in the oldest generation
