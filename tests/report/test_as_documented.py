"""The as-documented verdict: protocol checks decide where a piece speaks to the claim, the
document's arithmetic is recomputed where its figure is a sum, and nothing else passes."""
import pandas as pd

from rtrl_moe.report import as_documented as ad
from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, REFUTED, Evidence

EMPTY = pd.DataFrame()


def test_a_right_sum_is_confirmed_as_arithmetic_and_says_what_it_is_the_size_of():
    j = ad.judge("003-table-64", EMPTY, checks={}, documented={})
    assert j.verdict == CONFIRMED and j.basis == ad.ARITH
    assert "32.768 KB" in j.text and "hidden state" in j.text


def test_a_constant_says_so():
    j = ad.judge("002-rtrl-0.0005", EMPTY, checks={}, documented={})
    assert j.basis == ad.CONSTANT and "constant" in j.text


def test_a_wrong_sum_is_refuted():
    # 003: "8GB" over "8KB" is 10^6, not the "3000x smaller" the document writes
    j = ad.judge("003-llm-rtrl", EMPTY, checks={}, documented={})
    assert j.verdict == REFUTED and "1e+06" in j.text and "documented 3,000" in j.text


def test_sum_tolerance_both_ways():
    assert ad._s("128 * 4", 512, "B", "x").right
    assert not ad._s("128 * 4", 640, "B", "x").right   # 512 is 20% under 640


def _checks(verdict):
    return ({"p1": lambda df: Evidence(verdict, f"measured {verdict}", records=[{"record": "protocols.jsonl:1"}])},
            {"p1": {"claims": ["c-1"], "script": "quick_verify.py", "basis": "measured"}})


def test_a_protocol_piece_decides_the_claims_it_speaks_to():
    for v in (CONFIRMED, REFUTED):
        checks, doc = _checks(v)
        j = ad.judge("c-1", EMPTY, checks, doc)
        assert j.verdict == v and j.pieces == ["p1"] and j.script == "quick_verify.py"
        assert j.records == ["protocols.jsonl:1"]


def test_a_raising_protocol_check_is_not_measured_never_a_pass():
    def boom(df):
        raise RuntimeError("bad")
    j = ad.judge("c-1", EMPTY, {"p1": boom}, {"p1": {"claims": ["c-1"]}})
    assert j.verdict == NOT_MEASURED and "raised RuntimeError" in j.text


def test_a_claim_no_protocol_speaks_to_is_not_measured():
    j = ad.judge("zzz", EMPTY, checks={}, documented={})
    assert j.verdict == NOT_MEASURED


def test_a_claims_own_check_decides_over_the_rest_of_its_piece():
    # a piece with a refuted memory part and a confirmed time part: the time claim reads its own part
    checks = {"p1": lambda df: Evidence(REFUTED, "memory part refuted")}
    doc = {"p1": {"claims": ["c-time"], "script": "benchmark_memory.py", "basis": "measured"}}
    own = {"c-time": lambda df: Evidence(CONFIRMED, "time part confirmed")}
    j = ad.judge("c-time", EMPTY, checks, doc, own)
    assert j.verdict == CONFIRMED and j.text == "time part confirmed" and j.pieces == ["p1"]
    assert ad.judge("c-time", EMPTY, checks, doc, {}).verdict == REFUTED


def test_a_piece_may_state_another_basis_for_one_claim():
    checks = {"p1": lambda df: Evidence(CONFIRMED, "ok")}
    doc = {"p1": {"claims": ["c-1"], "basis": "measured", "basis_of": {"c-1": "constant"}}}
    assert ad.judge("c-1", EMPTY, checks, doc, {}).basis == "constant"
