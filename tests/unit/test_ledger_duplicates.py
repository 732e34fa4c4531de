"""Duplicate clues across channels are suggested (same unit, same category, close in time, similar
text), and nothing else is."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
import yaml

from contracts.campaign import CampaignConfigError, load_campaign, load_default_campaign
from kit.settings import DEFAULT_CAMPAIGN_FILE
from services.ledger.domain.duplicates import Candidate, similarity, suggest_duplicates

UNIT = "org_gd_administrative_approval"
CATEGORY = "c5_government_services"
DAY = datetime(2017, 6, 12, 10, 0)

# One 窗口推诿 complaint, as it arrives by letter and again from the partner platform.
LETTER = ("行政审批局窗口推诿", "办理营业执照时,窗口工作人员以材料不全为由推诿,不一次性告知需要的材料,"
          "让我来回跑了三趟还没办成。")
PLATFORM = ("审批局窗口工作人员推诿", "我去行政审批局办理营业执照,窗口工作人员说材料不全,推诿不办,"
            "也不一次性告知需要哪些材料,来回跑了三趟。")
RIVER = ("河道垃圾无人管理", "村东河道两岸长期堆放生活垃圾,污染水体,多次反映无人处理。")


def cand(pid, text, *, unit=UNIT, category=CATEGORY, days=0) -> Candidate:
    return Candidate(problem_id=pid, unit=unit, category=category, title=text[0],
                     description=text[1], registered_at=DAY + timedelta(days=days))


def ids(suggestions):
    return [s.problem_id for s in suggestions]


# --- similarity -------------------------------------------------------------------------------

def test_the_same_complaint_in_other_words_is_similar_and_an_unrelated_one_is_not():
    same = similarity(" ".join(LETTER), " ".join(PLATFORM))
    assert same >= 0.5
    assert similarity(" ".join(LETTER), " ".join(RIVER)) < 0.1


def test_similarity_ignores_punctuation_whitespace_case_and_width():
    assert similarity("窗口推诿,让群众跑三趟!", " 窗口 推诿\n让群众跑三趟 ") == 1.0
    assert similarity("ＡＢＣ 窗口", "abc窗口。") == 1.0
    assert similarity("Window clerk REFUSED!", "window-clerk refused") == 1.0


def test_similarity_is_bounded_symmetric_and_zero_without_letters():
    a, b = " ".join(LETTER), " ".join(PLATFORM)
    assert similarity(a, a) == 1.0
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 < similarity(a, b) < 1.0
    assert similarity("", a) == 0.0
    assert similarity("!!!", "???") == 0.0


def test_similarity_works_for_english_too():
    a = "Service window clerk refused my business licence application and sent me away"
    b = "The clerk at the service window refused the business licence application"
    c = "Rubbish dumped along the river bank for months, nobody came to clean it"
    assert similarity(a, b) >= 0.5
    assert similarity(a, c) < 0.35


# --- suggestions ------------------------------------------------------------------------------

def test_the_same_window_complaint_a_few_days_later_is_suggested():
    found = suggest_duplicates(cand("new", PLATFORM, days=4), [cand("old", LETTER)])
    assert ids(found) == ["old"]
    assert found[0].score >= 0.5
    assert any("same unit" in r for r in found[0].reasons)
    assert any("4 days apart" in r for r in found[0].reasons)


def test_the_same_text_at_another_unit_is_not_suggested():
    other = cand("old", LETTER, unit="org_tw_yanshan")
    assert suggest_duplicates(cand("new", LETTER, days=2), [other]) == []


def test_the_same_text_in_another_category_is_not_suggested():
    other = cand("old", LETTER, category="c6_business_environment")
    assert suggest_duplicates(cand("new", LETTER, days=2), [other]) == []


def test_the_same_complaint_forty_days_apart_is_not_suggested_either_way():
    assert suggest_duplicates(cand("new", PLATFORM, days=40), [cand("old", LETTER)]) == []
    assert suggest_duplicates(cand("new", PLATFORM), [cand("old", LETTER, days=40)]) == []
    assert ids(suggest_duplicates(cand("new", PLATFORM, days=40), [cand("old", LETTER)],
                                  window_days=45)) == ["old"]


def test_an_unrelated_complaint_at_the_same_unit_is_not_suggested():
    assert suggest_duplicates(cand("new", PLATFORM, days=1), [cand("old", RIVER)]) == []


def test_suggestions_come_best_first_and_are_limited():
    exact = cand("exact", PLATFORM, days=-1)
    reworded = cand("reworded", LETTER, days=-3)
    unrelated = cand("unrelated", RIVER, days=-2)
    found = suggest_duplicates(cand("new", PLATFORM), [reworded, unrelated, exact])
    assert ids(found) == ["exact", "reworded"]
    assert found[0].score == 1.0 > found[1].score
    assert ids(suggest_duplicates(cand("new", PLATFORM), [reworded, exact], limit=1)) == ["exact"]


def test_equal_scores_prefer_the_nearer_registration():
    far, near = cand("far", PLATFORM, days=-20), cand("near", PLATFORM, days=-2)
    assert ids(suggest_duplicates(cand("new", PLATFORM), [far, near])) == ["near", "far"]


def test_a_problem_is_not_its_own_duplicate():
    new = cand("same-id", PLATFORM)
    assert suggest_duplicates(new, [new]) == []


def test_without_a_category_the_same_unit_suffices_but_the_bar_is_higher():
    old = cand("old", LETTER, category="c6_business_environment")
    with_category = cand("new", PLATFORM, category="c6_business_environment", days=3)
    without = cand("new", PLATFORM, category=None, days=3)
    score = suggest_duplicates(with_category, [old], threshold=0.01)[0].score
    assert ids(suggest_duplicates(with_category, [old], threshold=score - 0.09)) == ["old"]
    assert suggest_duplicates(without, [old], threshold=score - 0.09) == []
    found = suggest_duplicates(without, [old], threshold=score - 0.11)
    assert ids(found) == ["old"]
    assert any("threshold raised" in r for r in found[0].reasons)


def test_a_new_problem_without_a_unit_gets_no_suggestions():
    assert suggest_duplicates(cand("new", PLATFORM, unit=None), [cand("old", PLATFORM)]) == []


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        suggest_duplicates(cand("new", PLATFORM), [], threshold=0)
    with pytest.raises(ValueError):
        suggest_duplicates(cand("new", PLATFORM), [], window_days=-1)


# --- configuration ----------------------------------------------------------------------------

def test_the_campaign_file_sets_the_window_and_threshold(tmp_path):
    assert load_default_campaign().duplicates.model_dump() == {"window_days": 30, "threshold": 0.5}
    raw = copy.deepcopy(yaml.safe_load(DEFAULT_CAMPAIGN_FILE.read_text(encoding="utf-8")))
    raw["duplicates"] = {"window_days": 30, "threshold": 1.5}
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CampaignConfigError) as info:
        load_campaign(path)
    assert "duplicates.threshold" in str(info.value)
