"""An RPC answer the broker cannot take requeues the request instead of killing the service
(nameko's ``RpcConsumer`` lets the container die, and with it every consumer of the process)."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import pytest  # noqa: E402
from kombu.exceptions import OperationalError  # noqa: E402
from nameko.rpc import RpcConsumer  # noqa: E402

from kit.nameko_ext import ReplyTolerantRpcConsumer  # noqa: E402


class Recording(ReplyTolerantRpcConsumer):
    def __init__(self):
        super().__init__()
        self.requeued = []

    def requeue_message(self, message):
        self.requeued.append(message)


def failing_reply(error):
    def handle_result(self, message, result, exc_info):
        raise error
    return handle_result


@pytest.mark.parametrize("error", [OperationalError("Server unexpectedly closed connection"),
                                   ConnectionResetError(104, "reset")])
def test_a_reply_lost_with_the_connection_requeues_the_request(monkeypatch, error):
    monkeypatch.setattr(RpcConsumer, "handle_result", failing_reply(error))
    consumer = Recording()
    assert consumer.handle_result("request", {"ok": 1}, None) == ({"ok": 1}, None)
    assert consumer.requeued == ["request"]


def test_any_other_failure_still_reaches_nameko(monkeypatch):
    monkeypatch.setattr(RpcConsumer, "handle_result", failing_reply(TypeError("a bug")))
    with pytest.raises(TypeError):
        Recording().handle_result("request", None, None)


def test_a_reply_sent_acknowledges_as_nameko_does(monkeypatch):
    monkeypatch.setattr(RpcConsumer, "handle_result",
                        lambda self, message, result, exc_info: (result, exc_info))
    consumer = Recording()
    assert consumer.handle_result("request", 7, None) == (7, None)
    assert consumer.requeued == []
