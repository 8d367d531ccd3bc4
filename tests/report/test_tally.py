"""One tally: the README never repeats a claim count that disagrees with the committed claims.json,
and the committed report's tally sentence is headline.tally_sentence of that same claims.json."""
from __future__ import annotations

import json
import re

from report_testlib import REPO

from rtrl_moe.report.headline import tally, tally_sentence

COUNT = re.compile(r"Of\s+(\d+)\s+claims\s+of\s+documents\s+(\d{3})-(\d{3})")


def _committed():
    return json.loads((REPO / "reports" / "claims.json").read_text(encoding="utf-8"))


def test_readme_repeats_no_claim_count_that_disagrees_with_claims_json():
    objs = _committed()
    readme = re.sub(r"\s+", " ", (REPO / "README.md").read_text(encoding="utf-8"))
    for n, lo, hi in COUNT.findall(readme):
        assert int(n) == len(objs), f"README says {n} claims, reports/claims.json holds {len(objs)}"
        assert (lo, hi) == ("000", "004"), "document 004 is counted with 000-003"
    # and where it quotes the counts, they are the tally's
    if COUNT.search(readme):
        assert tally_sentence(objs) in readme


def test_committed_report_tally_is_claims_jsons():
    objs = _committed()
    md = re.sub(r"\s+", " ", (REPO / "reports" / "REPORT.md").read_text(encoding="utf-8"))
    if COUNT.search(md):          # a report rendered before the tally existed says none
        assert tally_sentence(objs) in md
    assert sum(tally(objs).values()) == len(objs)


def test_the_check_catches_a_stale_count(tmp_path):
    objs = [{"verdict": "CONFIRMED", "source": "000_x.txt"}, {"verdict": "REFUTED", "source": "004_y.txt"}]
    stale = "Of 83 claims of documents 000-003: 14 CONFIRMED."
    n, lo, hi = COUNT.findall(stale)[0]
    assert int(n) != len(objs) and (lo, hi) != ("000", "004")
    assert tally_sentence(objs) == "Of 2 claims of documents 000-004: 1 CONFIRMED, 1 REFUTED."
