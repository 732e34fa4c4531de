"""Re-derive a spot-check round from its published files alone (复核抽样结果):

    python -m services.audit.rederive MANIFEST SEED PARAMS [--verdicts VERDICTS.json]

MANIFEST is the round's canonical manifest (抽查名单), SEED a file holding the seed's digits
(or the digits themselves), PARAMS the canonical parameters file, VERDICTS (optional) a JSON
object item id → outcome (``upheld``, ``wrong``, ``not_produced``). The command refuses a
manifest or parameters file that is not canonical, then writes to stdout the canonical JSON
of the round (``services.audit.sampling.result_bytes``: the manifest's SHA-256, the seed, the
parameters' digest and sampler version, and per unit and stratum N, n, the sampled ids and,
with verdicts, the errors, the bound and the decision): the same bytes the round publishes,
so ``cmp`` settles whether the platform drew and decided honestly. A short summary goes to
stderr. Bad files: exit code 2 and a message in Chinese and English. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.audit import sampling

USAGE_ERROR = 2


def read_seed(text: str) -> str:
    """The seed from a seed file's text: the digits, at most one final newline."""
    return text[:-1] if text.endswith("\n") else text


def rederive(manifest: bytes, seed: str, params: bytes,
             verdicts: bytes | None = None) -> bytes:
    """The round's canonical result from its files (what the command prints)."""
    items = sampling.parse_manifest(manifest)
    frozen = sampling.parse_params(params)
    drawn = sampling.draw(items, seed, frozen)
    recorded = sampling.parse_verdicts(verdicts) if verdicts is not None else {}
    results = sampling.evaluate(drawn, recorded, frozen)
    return sampling.result_bytes(results, manifest_sha256=sampling.manifest_digest(manifest),
                                 seed=seed, params=frozen)


def _read(path: str, what_en: str, what_zh: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise sampling.SamplingError(f"cannot read the {what_en} {path!r}: {exc.strerror}",
                                     f"无法读取{what_zh} {path!r}：{exc.strerror}") from None


def _seed_argument(value: str) -> str:
    path = Path(value)
    if path.is_file():
        try:
            return read_seed(_read(value, "seed file", "种子文件").decode("utf-8"))
        except UnicodeDecodeError:
            raise sampling.SeedRefused("the seed file is not UTF-8 text",
                                       "种子文件不是 UTF-8 文本") from None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.audit.rederive",
        description="复核抽样结果 / re-derive a spot-check round from its published files")
    parser.add_argument("manifest", help="抽查名单 / the canonical manifest")
    parser.add_argument("seed", help="随机种子文件或数字 / the seed file (or the digits)")
    parser.add_argument("params", help="抽查参数 / the canonical parameters (JSON)")
    parser.add_argument("--verdicts", help="复查结论 / the verdicts (JSON: id → outcome)")
    args = parser.parse_args(argv)
    try:
        manifest = _read(args.manifest, "manifest", "抽查名单")
        params = _read(args.params, "parameters", "抽查参数")
        verdicts = (_read(args.verdicts, "verdicts", "复查结论")
                    if args.verdicts is not None else None)
        seed = _seed_argument(args.seed)
        output = rederive(manifest, seed, params, verdicts)
    except sampling.SamplingError as exc:
        print(f"错误：{exc.message_zh}\nError: {exc.message}", file=sys.stderr)
        return USAGE_ERROR
    summary = json.loads(output)
    print(f"名单 SHA-256 / manifest SHA-256: {summary['manifest_sha256']}\n"
          f"抽查组 / groups: {len(summary['groups'])}; 样本 / sampled: "
          f"{sum(len(g['sampled']) for g in summary['groups'])}", file=sys.stderr)
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
