"""The upload tool's own rules (yanshan-upload), against an in-memory tus server
(``httpx.MockTransport``): resuming from the server's offset, retrying a broken connection
with backoff, refusals in both languages, the final digest check, the case folder."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from uploader import cli
from uploader.client import DigestMismatch, GaveUp, Refused, State, TusUploader, file_key


class FakeTus:
    """A tus server in memory; ``fail_patches`` PATCHes raise a network error after taking
    half their bytes (as a cut connection would)."""

    def __init__(self, refuse: int | None = None, wrong_digest: bool = False):
        self.data: dict[str, bytearray] = {}
        self.length: dict[str, int] = {}
        self.fail_patches = 0
        self.refuse, self.wrong_digest = refuse, wrong_digest
        self.received = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.refuse:
            return httpx.Response(self.refuse, json={"detail": {
                "code": "file_too_large", "message": "The file exceeds the limit.",
                "message_zh": "文件超过上限。"}})
        if request.method == "POST":
            uid = f"{len(self.data):032x}"
            self.data[uid], self.length[uid] = bytearray(), int(request.headers["upload-length"])
            return httpx.Response(201, headers={"Location": f"/api/v1/uploads/{uid}"})
        uid = request.url.path.rsplit("/", 1)[1]
        if uid not in self.data:
            return httpx.Response(404)
        if request.method == "HEAD":
            return httpx.Response(200, headers=self._state(uid))
        assert request.headers["upload-offset"] == str(len(self.data[uid]))
        body = request.read()
        if self.fail_patches:
            self.fail_patches -= 1
            self.data[uid] += body[:len(body) // 2]  # kept: no checksum failure here
            raise httpx.WriteError("connection reset")
        self.data[uid] += body
        self.received += len(body)
        return httpx.Response(204, headers=self._state(uid))

    def _state(self, uid: str) -> dict:
        headers = {"Upload-Offset": str(len(self.data[uid])),
                   "Upload-Length": str(self.length[uid])}
        if len(self.data[uid]) == self.length[uid]:
            digest = hashlib.sha256(bytes(self.data[uid])).hexdigest()
            headers["Upload-SHA256"] = "0" * 64 if self.wrong_digest else digest
        return headers


def uploader(server: FakeTus, sleeps: list | None = None, **kw) -> TusUploader:
    http = httpx.Client(transport=httpx.MockTransport(server), base_url="http://gw")
    return TusUploader(http, "http://gw/api/v1/uploads", chunk_size=64 << 10,
                       sleep=(sleeps.append if sleeps is not None else lambda s: None), **kw)


@pytest.fixture
def file(tmp_path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(300_000))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_upload_resumes_from_the_servers_offset_and_sends_only_the_rest(file, tmp_path):
    server = FakeTus()
    state = State("k", tmp_path / "state")
    with pytest.raises(GaveUp):  # the network dies for good after 100 kB
        server.fail_patches = 99
        uploader(server, retries=2).upload(file, state, sha(file), {"filename": "clip.mp4"})
    had = len(next(iter(server.data.values())))
    assert state.data["url"] and 0 < had < 300_000
    server.fail_patches = 0
    again = State("k", tmp_path / "state")  # a new run reads the state back
    outcome = uploader(server).upload(file, again, sha(file), {"filename": "clip.mp4"})
    assert outcome.resumed_from == had and outcome.sent == 300_000 - had
    assert bytes(next(iter(server.data.values()))) == file.read_bytes()
    assert again.data["complete"] is True


def test_a_broken_connection_is_retried_with_growing_pauses(file, tmp_path):
    server = FakeTus()
    server.fail_patches = 3
    sleeps: list[float] = []
    outcome = uploader(server, sleeps, retries=5).upload(
        file, State("k", tmp_path), sha(file), {})
    assert outcome.retries == 3 and len(sleeps) == 3
    assert sleeps[0] < sleeps[2]  # backoff (with jitter: 0.5-1x of 0.5, 1, 2 s)
    assert bytes(next(iter(server.data.values()))) == file.read_bytes()


def test_a_refusal_carries_both_languages(file, tmp_path):
    with pytest.raises(Refused) as refused:
        uploader(FakeTus(refuse=413)).upload(file, State("k", tmp_path), sha(file), {})
    assert (refused.value.status, refused.value.code) == (413, "file_too_large")
    assert refused.value.message_zh == "文件超过上限。"


def test_a_digest_that_differs_is_an_error(file, tmp_path):
    with pytest.raises(DigestMismatch):
        uploader(FakeTus(wrong_digest=True)).upload(file, State("k", tmp_path), sha(file), {})


def test_an_upload_the_server_forgot_starts_again(file, tmp_path):
    server = FakeTus()
    state = State("k", tmp_path)
    state.save(url="http://gw/api/v1/uploads/" + "f" * 32)
    outcome = uploader(server).upload(file, state, sha(file), {})
    assert outcome.sent == 300_000 and state.data["url"].endswith("0" * 32)


def test_a_token_that_ran_out_mid_upload_signs_in_again(file, tmp_path):
    server = FakeTus()
    expired = {"left": 1}

    def handler(request):
        if request.method == "PATCH" and expired["left"]:
            expired["left"] -= 1
            return httpx.Response(401, json={"detail": {"code": "token_expired",
                                                        "message": "x", "message_zh": "x"}})
        return server(request)

    signed_in = []
    http = httpx.Client(transport=httpx.MockTransport(handler))
    tool = TusUploader(http, "http://gw/api/v1/uploads", chunk_size=64 << 10,
                       reauth=lambda: signed_in.append(1))
    tool.upload(file, State("k", tmp_path), sha(file), {})
    assert signed_in == [1] and bytes(next(iter(server.data.values()))) == file.read_bytes()


def test_the_state_key_follows_path_size_mtime_and_server(file):
    key = file_key(file, "http://a")
    assert key == file_key(file, "http://a") != file_key(file, "http://b")
    os.utime(file, ns=(1, 1))
    assert file_key(file, "http://a") != key


def test_a_case_folder_gives_fields_and_files(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "case.yaml").write_text("title: 窗口无人\ndescription: 工作时间窗口无人值守。\n"
                                      "place: 某镇\n", encoding="utf-8")
    (folder / "b.mp4").write_bytes(b"x")
    (folder / "a.jpg").write_bytes(b"y")
    (folder / ".hidden").write_bytes(b"z")
    args = cli.parser().parse_args([str(folder), "--kind", "slow_action"])
    fields, files = cli.load_case(folder, args)
    assert fields == {"title": "窗口无人", "description": "工作时间窗口无人值守。", "place": "某镇",
                      "kind": "slow_action"}
    assert [f.name for f in files] == ["a.jpg", "b.mp4"]
    (folder / "case.yaml").unlink()
    (folder / "case.json").write_text(json.dumps({"title": "标题", "colour": "red"}))
    with pytest.raises(cli.UsageError, match="colour"):
        cli.load_case(folder, args)


def test_the_command_says_what_is_wrong_in_both_languages(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("YANSHAN_PASSWORD", "x")
    assert cli.main([str(tmp_path / "missing")]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "不是文件夹" in err and "not a folder" in err
