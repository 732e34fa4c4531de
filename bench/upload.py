"""Resumable upload throughput on loopback (断点续传吞吐量): ``python -m bench.upload``.

Starts the platform's processes (``tests.support.stack.Stack``, a RabbitMQ vhost of its
own, SQLite stores in a temporary folder), writes a 500 MB MP4-shaped file and sends it
with the media team's tool (``yanshan-upload --files-only``, 16 MiB PATCHes with a SHA-1
checksum each, as the tool does by default), sampling the gateway's resident memory from
/proc every 50 ms. Prints the throughput (file size over the upload's wall time, from the
first PATCH to the server's SHA-256 check, completion included: the video's redacted copy
is written then), the gateway's peak RSS and its growth over the idle gateway. The target:
at least 50 MB/s, growth well under 50 MB.

    python -m bench.upload [--size-mb 500] [--chunk-mib 16] [--runs 1]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.infra import broker_vhost
from tests.support.stack import Stack
from tests.support.uploads import (
    RssSampler, make_video, rss_kib, state_offset, tool_command, tool_env,
)


def one_run(stack: Stack, folder: Path, state: Path, size: int, chunk_mib: int) -> dict:
    env = tool_env(state, "dev-media-2017!")
    tool = subprocess.Popen(tool_command(str(folder), "--server", stack.base_url,
                                         "--files-only", "--quiet", "--json",
                                         "--chunk-mib", str(chunk_mib)),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # signed in and the file hashed locally: the clock starts with the first bytes
    while state_offset(state) == 0 and tool.poll() is None:
        time.sleep(0.005)
    started = time.monotonic()
    pid = stack.procs["gateway"].pid
    with RssSampler(pid) as rss:
        out, err = tool.communicate(timeout=600)
    elapsed = time.monotonic() - started
    if tool.returncode != 0:
        raise SystemExit(f"the tool failed: {err.decode()[-2000:]}")
    sent = json.loads(out)["files"][0]
    first_chunk = chunk_mib << 20  # sent before the clock started
    return {"mb_per_s": (size - min(first_chunk, size)) / 1e6 / elapsed, "seconds": elapsed,
            "peak_rss_mb": rss.peak / 1024, "growth_mb": rss.growth_mb,
            "hwm_mb": rss_kib(pid, "VmHWM") / 1024, "sha256": sent["sha256"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    size = args.size_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp, broker_vhost() as amqp:
        tmp = Path(tmp)
        stack = Stack(amqp_uri=amqp, data_dir=tmp / "stack")
        try:
            stack.start_all()
            print(f"upload benchmark: {args.size_mb} MB file, {args.chunk_mib} MiB chunks, "
                  f"loopback, gateway on SQLite + folder blob store")
            for run in range(args.runs):
                folder = tmp / f"files-{run}"
                folder.mkdir()
                make_video(folder / "clip.mp4", size, f"bench-{run}".encode())
                figures = one_run(stack, folder, tmp / f"state-{run}", size, args.chunk_mib)
                (folder / "clip.mp4").unlink()
                print(f"  run {run + 1}: {figures['mb_per_s']:.1f} MB/s "
                      f"({figures['seconds']:.1f} s); gateway RSS peak "
                      f"{figures['peak_rss_mb']:.1f} MB, growth {figures['growth_mb']:.1f} MB "
                      f"over idle (VmHWM {figures['hwm_mb']:.1f} MB, includes start-up and "
                      f"the sign-in's argon2id)")
        finally:
            for name in list(stack.procs):
                stack.stop(name, timeout=5)


if __name__ == "__main__":
    main()
