"""``yanshan-upload``: the media team's upload tool (媒体曝光上传工具).

Uploads an exposure case (曝光案例) from a folder (``case.yaml`` or ``case.json`` with the
fields, plus its photos, videos and documents) or from arguments, resumably over tus 1.0::

    yanshan-upload ./case-folder --server https://gateway --username media
    yanshan-upload --title 标题 --description 描述 --file clip.mp4 --file photo.jpg

The password comes from ``YANSHAN_PASSWORD`` or a prompt. Each file's upload is remembered
under ``$XDG_STATE_HOME/yanshan-upload`` (default ``~/.local/state/yanshan-upload``), keyed
by path, size, modification time and server: run the same command again after a kill, a
lost connection or a reboot and it asks the server how much it has (HEAD) and sends only
the rest. Network errors are retried with backoff. At the end each file's SHA-256 is
checked against the server's, then the case is submitted (with an Idempotency-Key, so a
retry never files it twice).

Exit status: 0 done; 1 bad arguments or case file; 2 the server refused (its reason in
Chinese and English); 3 the network kept failing; 4 the server's digest differs.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
import uuid
from pathlib import Path

import httpx

from uploader.client import (
    DigestMismatch, GaveUp, Refused, State, TusUploader, file_key, sha256_of,
)

CASE_FIELDS = ("title", "description", "subject_unit", "category", "kind", "place",
               "occurred_on", "occurred_at")
CASE_FILES = ("case.yaml", "case.yml", "case.json")
EXIT_USAGE, EXIT_REFUSED, EXIT_NETWORK, EXIT_DIGEST = 1, 2, 3, 4


class UsageError(Exception):
    pass


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the case --------------------------------------------------------------------------------

def load_case(folder: Path | None, args) -> tuple[dict, list[Path]]:
    fields: dict = {}
    files: list[Path] = []
    if folder is not None:
        if not folder.is_dir():
            raise UsageError(f"不是文件夹 · not a folder: {folder}")
        found = next((folder / n for n in CASE_FILES if (folder / n).is_file()), None)
        if found is not None:
            fields = _read_case_file(found)
        listed = fields.pop("files", None)
        if listed:
            files = [folder / str(name) for name in listed]
        else:
            files = sorted(p for p in folder.iterdir() if p.is_file()
                           and not p.name.startswith(".") and p.name not in CASE_FILES)
    for name in CASE_FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    files += [Path(f) for f in args.file or []]
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise UsageError(f"案例文件中有未知字段 · unknown fields in the case file: "
                         f"{', '.join(sorted(unknown))}")
    missing = [p for p in files if not p.is_file()]
    if missing:
        raise UsageError(f"找不到文件 · file not found: {missing[0]}")
    if not files:
        raise UsageError("没有要上传的文件 · no files to upload")
    if not args.files_only:
        for name in ("title", "description"):
            if not fields.get(name):
                raise UsageError(f"缺少字段 {name} · the case needs a {name} "
                                 "(case.yaml or --{name})")
    return {k: str(v) for k, v in fields.items() if v is not None}, files


def _read_case_file(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise UsageError(f"无法读取案例文件 · cannot read {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"案例文件须为键值对 · {path.name} must be a mapping of fields")
    return data


# --- progress ---------------------------------------------------------------------------------

def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} GB"


def _clock(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _bar(fraction: float, width: int = 20) -> str:
    filled = int(fraction * width)
    return "#" * filled + "-" * (width - filled)


class Progress:
    """One stderr line: this file and all files, speed and time left (plain text)."""

    def __init__(self, total: int, quiet: bool = False):
        self.total, self.quiet = total, quiet
        self.done = 0                # bytes of the files already finished
        self.name, self.size, self.position = "", 0, 0
        self.sent, self.started = 0, time.monotonic()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def start(self, index: int, count: int, name: str, size: int) -> None:
        self.label = f"[{index}/{count}] {name}"
        self.size, self.position = size, 0

    def __call__(self, position: int, sent: int) -> None:
        self.position = position
        self.sent += sent
        now = time.monotonic()
        if now - self.last >= (0.25 if self.tty else 2.0) or position >= self.size:
            self.last = now
            self.draw(now)

    def draw(self, now: float) -> None:
        if self.quiet:
            return
        speed = self.sent / max(now - self.started, 1e-6)
        overall = self.done + self.position
        left = (self.total - overall) / speed if speed > 0 else float("inf")
        file_fraction = self.position / self.size if self.size else 1.0
        line = (f"{self.label} {_bar(file_fraction)} {file_fraction:4.0%} "
                f"{_size(self.position)}/{_size(self.size)} | 总计 total "
                f"{overall / self.total if self.total else 1:4.0%} {_size(overall)}/"
                f"{_size(self.total)} | {_size(speed)}/s | 剩余 left {_clock(left)}")
        sys.stderr.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        sys.stderr.flush()

    def finish_file(self) -> None:
        self.done += self.size
        self.position = 0
        if self.tty and not self.quiet:
            sys.stderr.write("\n")


# --- the run ----------------------------------------------------------------------------------

def sign_in(http: httpx.Client, server: str, username: str, password: str) -> str:
    reply = http.post(f"{server}/api/v1/auth/token",
                      json={"username": username, "password": password})
    if reply.status_code != 200:
        raise Refused.of(reply)
    return reply.json()["access_token"]


def run(args) -> dict:
    server = args.server.rstrip("/")
    folder = Path(args.folder) if args.folder else None
    fields, files = load_case(folder, args)
    password = os.environ.get("YANSHAN_PASSWORD") or getpass.getpass(
        f"{args.username} 的密码 · password: ")
    timeout = httpx.Timeout(60.0, read=600.0)
    summary: dict = {"server": server, "files": []}
    with httpx.Client(timeout=timeout) as http:
        def authenticate() -> None:
            token = _retrying(lambda: sign_in(http, server, args.username, password), args)
            http.headers["Authorization"] = f"Bearer {token}"

        authenticate()
        sizes = [p.stat().st_size for p in files]
        progress = Progress(sum(sizes), args.quiet)
        uploader = TusUploader(http, f"{server}/api/v1/uploads", chunk_size=args.chunk_mib << 20,
                               retries=args.retries, progress=progress, reauth=authenticate,
                               report=lambda s: None if args.quiet else say("\n" + s))
        for i, (path, size) in enumerate(zip(files, sizes), 1):
            state = State(file_key(path, server))
            sha256 = state.data.get("sha256") if state.data.get("size") == size else None
            if sha256 is None:
                if not args.quiet:
                    say(f"[{i}/{len(files)}] {path.name}: 计算摘要 · hashing …")
                sha256 = sha256_of(path)
                state.save(sha256=sha256, size=size, path=str(path))
            progress.start(i, len(files), path.name, size)
            outcome = uploader.upload(path, state, sha256, {"filename": path.name})
            progress.finish_file()
            summary["files"].append(outcome.__dict__)
            if not args.quiet:
                resumed = (f",从 {_size(outcome.resumed_from)} 处续传 · resumed at "
                           f"{_size(outcome.resumed_from)}") if outcome.resumed_from else ""
                say(f"[{i}/{len(files)}] {path.name}: 完成,摘要一致 · done, SHA-256 verified "
                    f"{sha256[:16]}…{resumed}")
        if args.files_only:
            return summary
        summary["case"] = submit_case(http, server, fields, summary["files"], args)
    return summary


def submit_case(http: httpx.Client, server: str, fields: dict, files: list[dict],
                args) -> dict:
    ids = [f["upload_id"] for f in files]
    state = State("case-" + file_key_of_case(server, fields, ids))
    if state.data.get("answer"):
        return state.data["answer"]
    key = state.data.get("idempotency_key") or uuid.uuid4().hex
    state.save(idempotency_key=key)

    def post():
        reply = http.post(f"{server}/api/v1/exposure-cases", json={**fields, "uploads": ids},
                          headers={"Idempotency-Key": key})
        if reply.status_code >= 500:
            raise httpx.TransportError(f"HTTP {reply.status_code}")
        if reply.status_code != 201:
            raise Refused.of(reply)
        return reply.json()

    answer = _retrying(post, args)
    state.save(answer=answer)
    if not args.quiet:
        say(f"案例已提交 · case submitted: {answer['case_id']} 回执码 receipt "
            f"{answer['receipt_code']}")
    return answer


def file_key_of_case(server: str, fields: dict, ids: list[str]) -> str:
    import hashlib

    raw = json.dumps([server, fields, ids], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _retrying(call, args):
    delay = 0.5
    for attempt in range(args.retries + 1):
        try:
            return call()
        except httpx.TransportError as exc:
            if attempt == args.retries:
                raise GaveUp(str(exc)) from None
            if not args.quiet:
                say(f"网络错误,{delay:.1f} 秒后重试 · network error ({exc}); retrying in "
                    f"{delay:.1f} s")
            time.sleep(delay)
            delay = min(delay * 2, 20)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="yanshan-upload",
        description="上传曝光案例(断点续传)· Upload an exposure case, resumably (tus 1.0)")
    p.add_argument("folder", nargs="?", help="案例文件夹 (case.yaml/case.json + files)")
    p.add_argument("--server", default=os.environ.get("YANSHAN_SERVER", "http://127.0.0.1:8000"))
    p.add_argument("--username", default=os.environ.get("YANSHAN_USERNAME", "media"))
    for name in CASE_FIELDS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name)
    p.add_argument("--file", action="append", help="a file to upload (repeatable)")
    p.add_argument("--files-only", action="store_true",
                   help="只上传文件,不提交案例 · upload the files, submit no case")
    p.add_argument("--chunk-mib", type=int, default=16, help="MiB per PATCH (default 16)")
    p.add_argument("--retries", type=int, default=10, help="retries per failure streak")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        summary = run(args)
    except UsageError as exc:
        say(f"错误 · error: {exc}")
        return EXIT_USAGE
    except Refused as exc:
        say(f"\n服务器拒绝 · refused by the server ({exc.status} {exc.code}):\n"
            f"  {exc.message_zh}\n  {exc.message}")
        return EXIT_REFUSED
    except GaveUp as exc:
        say(f"\n网络多次失败,已放弃;再次运行同一命令即可从断点续传 · the network kept failing "
            f"({exc}); run the same command again to resume")
        return EXIT_NETWORK
    except DigestMismatch as exc:
        say(f"\n服务器上的文件摘要与本地不一致 · the server's SHA-256 differs: {exc}")
        return EXIT_DIGEST
    except KeyboardInterrupt:
        say("\n已中断;再次运行同一命令即可续传 · interrupted; run it again to resume")
        return 130
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
