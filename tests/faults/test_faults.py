"""Nothing accepted is lost or counted twice whatever breaks mid-flow (DESIGN §3).

While clues flow through the gateway and the county office dispatches every fifth one as
it registers (``tests.support.flow``), each test breaks one thing: the broker is killed
with SIGKILL and restarted; each service and the gateway is SIGKILLed and started again;
PostgreSQL is frozen for 10 s; the ledger's broker connection, then its database
connection, is cut for 5 s at a proxy; poison is put straight into two consumers' queues;
the gateway is restarted in the middle of a resumable upload. Nothing restarts a client but
its own reconnection logic. After each: every accepted clue registered exactly once, no
step, notice or observation doubled, every chosen clue dispatched once, the stack ready
again, no dead letter but the poison (which carries its reason). The seconds to recover
run from the fault's end to a new clue answered 202 and registered; they are reported, not
asserted. The report table is printed at the end of the run (``make faults``).
"""
from __future__ import annotations

import json
import subprocess
import time

import pytest
from kombu import Connection, Exchange, Producer

from contracts.topology import DEAD_LETTER_QUEUE, subscription
from tests.faults.conftest import REPORT
from tests.support.flow import Flow, tally, time_to_recover
from tests.support.uploads import file_sha256, make_video, state_offset, tool_command, tool_env

pytestmark = pytest.mark.e2e

CLUES = 150          # per fault; about 4 s of flow at 40 clues/s
DOWN_SECONDS = 1.5   # how long a SIGKILLed process stays down
UPLOAD_BYTES = 120_000_000


def dead_letters(amqp_uri: str, take: bool = False) -> list:
    """The dead-letter queue's messages (taken off it when ``take``)."""
    found = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        if not take:
            _, count, _ = channel.queue_declare(DEAD_LETTER_QUEUE, passive=True)
            return [None] * count
        while (message := channel.basic_get(DEAD_LETTER_QUEUE, no_ack=True)) is not None:
            found.append(message)
    return found


def run_fault(fs, name: str, strike, *, extra=None, poison: int = 0) -> list:
    """Start a flow, ``strike()`` once a third of it is accepted (it returns when the fault
    is healed), measure the recovery, count, report, assert; answer the dead letters taken."""
    stack = fs.stack
    stack.wait_ready(120)
    flow = Flow(stack.base_url, fs.effects, name, clues=CLUES).start()
    flow.wait_accepted(CLUES // 3)
    strike()
    healed = time.monotonic()
    recover_s, probe_key, probe_id = time_to_recover(stack.base_url, fs.effects, healed, name)
    flow.join()
    flow.keys.append(probe_key)
    flow.accepted[probe_key] = probe_id
    for key, clue_id in (extra() if extra else {}).items():
        flow.keys.append(key)
        flow.accepted[key] = clue_id
    row = tally(name, flow, fs.effects, recover_s)
    REPORT.append(row)
    stack.wait_ready(60)  # every process reconnected by itself: /readyz asks all four
    assert (row.lost, row.duplicated) == (0, 0), row
    assert row.registered == row.accepted == row.offered, row
    assert len(flow.dispatched) == len(flow.to_dispatch) > 0, flow.dispatch_answers
    letters = dead_letters(fs.rabbit.uri, take=bool(poison))
    assert len(letters) == poison, "a message was dead-lettered"
    return letters


def test_the_broker_killed_with_sigkill_and_restarted(fault_stack):
    def strike():
        fault_stack.rabbit.kill9()
        time.sleep(DOWN_SECONDS)
        fault_stack.rabbit.start()
    run_fault(fault_stack, "broker kill -9", strike)


@pytest.mark.parametrize("victim", ["intake", "ledger", "notify", "audit", "gateway"])
def test_a_process_killed_with_sigkill_and_started_again(fault_stack, victim):
    def strike():
        fault_stack.stack.kill(victim)
        time.sleep(DOWN_SECONDS)
        fault_stack.stack.start(victim)
    run_fault(fault_stack, f"SIGKILL {victim}", strike)


def test_postgresql_frozen_for_ten_seconds(fault_stack):
    def strike():
        fault_stack.postgres.freeze()
        try:
            time.sleep(10)
        finally:
            fault_stack.postgres.thaw()
    run_fault(fault_stack, "PostgreSQL SIGSTOP 10 s", strike)


def test_the_ledgers_broker_connection_cut(fault_stack):
    def strike():
        fault_stack.amqp_proxy.cut(5)
        time.sleep(5)
    run_fault(fault_stack, "ledger AMQP cut 5 s", strike)
    assert fault_stack.amqp_proxy.cuts == 1


def test_the_ledgers_database_connection_cut(fault_stack):
    def strike():
        fault_stack.db_proxy.cut(5)
        time.sleep(5)
    run_fault(fault_stack, "ledger DB cut 5 s", strike)
    assert fault_stack.db_proxy.cuts == 1


POISON = [
    (b"{not json at all", "application/json"),                  # not decodable
    (b"\xff\xfe\x00binary", "application/json"),
    (json.dumps([1, 2, 3]).encode(), "application/json"),        # JSON, not an event
    (json.dumps({"event_id": 5}).encode(), "application/json"),  # breaks the contract
    (json.dumps({"event_id": "x", "clue_id": None}).encode(), "application/json"),
]
POISONED = [subscription("gateway", "clue_submitted", "intake", "on_clue_submitted"),
            subscription("intake", "clue_accepted", "ledger", "on_clue_accepted")]
POISON_ROUNDS = 4


def test_poison_messages_go_to_the_dead_letters_with_their_reason(fault_stack):
    def strike():
        with Connection(fault_stack.rabbit.uri) as conn:
            producer = Producer(conn.channel(), exchange=Exchange(""))
            for _ in range(POISON_ROUNDS):
                for sub in POISONED:
                    for body, content_type in POISON:
                        producer.publish(body, routing_key=sub.queue_name, serializer=None,
                                         content_type=content_type, content_encoding="utf-8",
                                         delivery_mode=2)
    expected = POISON_ROUNDS * len(POISONED) * len(POISON)
    letters = run_fault(fault_stack, f"poison x{expected}", strike, poison=expected)
    queues = {sub.queue_name: 0 for sub in POISONED}
    for letter in letters:
        headers = letter.headers or {}
        assert headers.get("x-poison-reason"), headers
        queues[headers["x-poison-queue"]] += 1
    assert queues == {sub.queue_name: expected // len(POISONED) for sub in POISONED}


def test_the_gateway_restarted_mid_upload(fault_stack, tmp_path):
    stack = fault_stack.stack
    folder = tmp_path / "case"
    folder.mkdir()
    title = f"fault-upload-{int(time.time())}"
    (folder / "case.yaml").write_text(
        f"title: {title}\ndescription: 记者暗访发现办事窗口长时间无人值守。\n"
        "place: 盐山县某镇便民服务中心\noccurred_on: 2017-10-09\n", encoding="utf-8")
    sha256 = make_video(folder / "暗访.mp4", UPLOAD_BYTES, b"fault")
    state = tmp_path / "state"
    tool = {}

    def strike():
        tool["proc"] = subprocess.Popen(
            tool_command(str(folder), "--server", stack.base_url, "--chunk-mib", "2",
                         "--json"), env=tool_env(state, "dev-media-2017!"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while state_offset(state) < UPLOAD_BYTES // 4:
            assert tool["proc"].poll() is None, tool["proc"].stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the upload made no progress"
            time.sleep(0.01)
        tool["cut_at"] = state_offset(state)
        stack.stop("gateway")
        stack.start("gateway")

    def the_case():
        out, err = tool["proc"].communicate(timeout=240)
        assert tool["proc"].returncode == 0, err.decode()[-3000:]
        summary = json.loads(out)
        (sent,) = summary["files"]
        assert sent["sha256"] == sha256 == file_sha256(
            stack.data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256)
        assert sent["retries"] >= 1, sent  # it met the restart, and went on
        assert tool["cut_at"] < UPLOAD_BYTES  # the restart came mid-upload
        # resumed where the gateway had it: at most the chunk in flight sent again
        assert sent["sent"] <= UPLOAD_BYTES + (2 << 20), sent
        return {title: summary["case"]["clue_id"]}
    run_fault(fault_stack, "gateway restart mid-upload", strike, extra=the_case)
