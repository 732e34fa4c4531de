"""Anyone can re-derive a round (复核抽样结果): ``python -m services.audit.rederive MANIFEST SEED
PARAMS [--verdicts V]`` run as a separate process on the published files gives, byte for byte,
what the sampler computed in the round; bad files exit 2 with a Chinese and English message.
Pure: no broker, no database."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.campaign import SpotCheckRules
from services.audit import sampling
from services.audit.rederive import rederive
from services.audit.sampling import Item, Params

ROOT = Path(__file__).resolve().parents[2]
SEED = "31415926535897932384626"


def items() -> list[Item]:
    out = []
    for u in range(5):
        out += [Item(f"问题-{u}-{i:03d}", f"第{u}单位", "ordinary") for i in range(30 + 7 * u)]
        out += [Item(f"零报告-{u}-{i:02d}", f"第{u}单位", "zero_report") for i in range(12)]
        out += [Item(f"重点-{u}-{i:02d}", f"第{u}单位", "high_severity") for i in range(3 + u)]
    return out


def publish(tmp_path: Path, population: list[Item], params: Params, seed: str = SEED,
            verdicts: dict | None = None) -> list[str]:
    (tmp_path / "manifest.tsv").write_bytes(sampling.manifest_bytes(population))
    (tmp_path / "seed.txt").write_text(seed + "\n")
    (tmp_path / "params.json").write_bytes(sampling.params_bytes(params))
    args = [str(tmp_path / name) for name in ("manifest.tsv", "seed.txt", "params.json")]
    if verdicts is not None:
        (tmp_path / "verdicts.json").write_bytes(sampling.verdicts_bytes(verdicts))
        args += ["--verdicts", str(tmp_path / "verdicts.json")]
    return args


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.audit.rederive", *args], cwd=ROOT,
                          capture_output=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def round_verdicts(drawn: sampling.Draw) -> dict[str, str]:
    """Unit 0 clean, unit 1 one wrong closure, unit 2 an item not produced, unit 3 half done."""
    verdicts: dict[str, str] = {}
    for group in drawn.groups:
        unit = int(group.unit[1])
        sample = list(group.sampled)
        if unit == 3:
            sample = sample[: len(sample) // 2]
        for place, item_id in enumerate(sample):
            verdicts[item_id] = ("wrong" if unit == 1 and place == 2 else
                                 "not_produced" if unit == 2 and place == 0 else "upheld")
    return verdicts


def test_the_command_reprints_the_rounds_draw_and_decisions_byte_for_byte(tmp_path):
    population = items()
    params = Params.from_campaign(SpotCheckRules(), period="2026-11")
    drawn = sampling.draw(population, SEED, params)
    verdicts = round_verdicts(drawn)
    expected = sampling.result_bytes(sampling.evaluate(drawn, verdicts, params),
                                     manifest_sha256=sampling.manifest_digest(
                                         sampling.manifest_bytes(population)),
                                     seed=SEED, params=params)
    done = run(publish(tmp_path, population, params, verdicts=verdicts))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == expected
    body = json.loads(done.stdout)
    decisions = {(g["unit"], g["stratum"]): g["decision"] for g in body["groups"]}
    assert decisions[("第0单位", "ordinary")] == "cleared"
    assert decisions[("第1单位", "ordinary")] == "full_review"
    assert decisions[("第2单位", "zero_report")] == "full_review"
    assert decisions[("第3单位", "ordinary")] == "keep_sampling"
    assert "manifest SHA-256" in done.stderr.decode() and body["manifest_sha256"] in (
        done.stderr.decode())
    assert rederive((tmp_path / "manifest.tsv").read_bytes(), SEED,
                    (tmp_path / "params.json").read_bytes(),
                    (tmp_path / "verdicts.json").read_bytes()) == expected


def test_without_verdicts_the_command_prints_the_sample_the_round_drew(tmp_path):
    population = items()
    params = Params.from_campaign(SpotCheckRules(method="alpha"), period="2026-11")
    done = run(publish(tmp_path, population, params))
    assert done.returncode == 0, done.stderr.decode()
    drawn = sampling.draw(population, SEED, params)
    body = json.loads(done.stdout)
    assert {(g["unit"], g["stratum"]): tuple(g["sampled"]) for g in body["groups"]} == {
        (g.unit, g.stratum): g.sampled for g in drawn.groups}
    assert all(g["checked"] == 0 and g["decision"] == "keep_sampling" for g in body["groups"])
    # the seed may also be given as the digits themselves
    args = publish(tmp_path, population, params)
    assert run([args[0], SEED, args[2]]).stdout == done.stdout


def test_another_seed_draws_another_sample(tmp_path):
    population = items()
    params = Params.from_campaign(SpotCheckRules(), period="2026-11")
    first = run(publish(tmp_path, population, params)).stdout
    second = run(publish(tmp_path, population, params, seed="27182818284590452353602")).stdout
    assert json.loads(first)["groups"] != json.loads(second)["groups"]


@pytest.mark.parametrize("spoil, words_en, words_zh", [
    ("manifest", "line 2", "第 2 行"),
    ("params", "canonical", "规范"),
    ("seed", "at least 20", "至少需要 20 位"),
    ("verdicts", "not in this round", "不在本轮名单"),
    ("missing", "cannot read", "无法读取"),
])
def test_bad_files_exit_2_with_a_bilingual_message_and_no_output(tmp_path, spoil, words_en,
                                                                  words_zh):
    population = items()
    params = Params.from_campaign(SpotCheckRules(), period="2026-11")
    args = publish(tmp_path, population, params, verdicts={population[0].id: "upheld"})
    if spoil == "manifest":
        lines = (tmp_path / "manifest.tsv").read_bytes().split(b"\n")
        lines[0], lines[1] = lines[1], lines[0]
        (tmp_path / "manifest.tsv").write_bytes(b"\n".join(lines))
    elif spoil == "params":
        raw = json.loads((tmp_path / "params.json").read_bytes())
        (tmp_path / "params.json").write_text(json.dumps(raw, indent=2))
    elif spoil == "seed":
        (tmp_path / "seed.txt").write_text("12345\n")
    elif spoil == "verdicts":
        (tmp_path / "verdicts.json").write_text('{"NOT-AN-ITEM": "wrong"}')
    else:
        args[0] = str(tmp_path / "nowhere.tsv")
    done = run(args)
    assert done.returncode == 2 and done.stdout == b""
    message = done.stderr.decode()
    assert words_en in message and words_zh in message
    assert message.index("错误") < message.index("Error")
