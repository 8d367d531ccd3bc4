"""The as-documented verdict: protocol checks decide where a claim entry names pieces, the
document's arithmetic is recomputed where its figure is a sum, and nothing else passes."""
import pandas as pd

from rtrl_moe.report import as_documented as ad
from rtrl_moe.report.claims import by_id
from rtrl_moe.report.claims.entry import Claim
from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, REFUTED, Evidence

EMPTY = pd.DataFrame()


def _claim(cid="c-1", **kw):
    return Claim(cid, "000_x.txt", "q", "d", "r", "m", "t", lambda df: Evidence(NOT_MEASURED, ""), **kw)


def test_a_right_sum_is_confirmed_as_arithmetic_and_says_what_it_is_the_size_of():
    j = ad.judge(by_id()["003-table-64"], EMPTY, checks={}, documented={})
    assert j.verdict == CONFIRMED and j.basis == ad.ARITH
    assert "32.768 KB" in j.text and "hidden state" in j.text


def test_a_constant_says_so():
    j = ad.judge(by_id()["002-rtrl-0.0005"], EMPTY, checks={}, documented={})
    assert j.basis == ad.CONSTANT and "constant" in j.text


def test_a_wrong_sum_is_refuted():
    # 003: "8GB" over "8KB" is 10^6, not the "3000x smaller" the document writes
    j = ad.judge(by_id()["003-llm-rtrl"], EMPTY, checks={}, documented={})
    assert j.verdict == REFUTED and "1e+06" in j.text and "documented 3,000" in j.text


def test_sum_tolerance_both_ways():
    assert ad.sum_of("128 * 4", 512, "B", "x").right
    assert not ad.sum_of("128 * 4", 640, "B", "x").right   # 512 is 20% under 640


def _checks(verdict):
    return ({"p1": lambda df: Evidence(verdict, f"measured {verdict}")},
            {"p1": {"script": "quick_verify.py", "basis": "measured"}})


def test_a_protocol_piece_decides_the_claims_it_speaks_to():
    for v in (CONFIRMED, REFUTED):
        checks, doc = _checks(v)
        j = ad.judge(_claim(pieces=("p1",)), EMPTY, checks, doc)
        assert j.verdict == v and j.pieces == ["p1"] and j.script == "quick_verify.py"


def test_a_raising_protocol_check_is_not_measured_never_a_pass():
    def boom(df):
        raise RuntimeError("bad")
    j = ad.judge(_claim(pieces=("p1",)), EMPTY, {"p1": boom}, {"p1": {}})
    assert j.verdict == NOT_MEASURED and "raised RuntimeError" in j.text


def test_a_claim_no_protocol_speaks_to_is_not_measured():
    j = ad.judge(_claim(), EMPTY, checks={}, documented={})
    assert j.verdict == NOT_MEASURED and j.basis == ad.STATEMENT
    assert ad.judge(_claim(not_run="no GPU"), EMPTY, {}, {}).basis == ad.NOT_RUN


def test_a_claims_own_check_decides_over_the_rest_of_its_piece():
    # a piece with a refuted memory part and a confirmed time part: the time claim reads its own part
    checks = {"p1": lambda df: Evidence(REFUTED, "memory part refuted")}
    doc = {"p1": {"script": "benchmark_memory.py", "basis": "measured"}}
    own = _claim("c-time", pieces=("p1",), protocol_check=lambda df: Evidence(CONFIRMED, "time part confirmed"))
    j = ad.judge(own, EMPTY, checks, doc)
    assert j.verdict == CONFIRMED and j.text == "time part confirmed" and j.pieces == ["p1"]
    assert ad.judge(_claim("c-time", pieces=("p1",)), EMPTY, checks, doc).verdict == REFUTED


def test_an_entry_may_state_another_basis_than_its_piece():
    checks = {"p1": lambda df: Evidence(CONFIRMED, "ok")}
    doc = {"p1": {"basis": "measured"}}
    assert ad.judge(_claim(pieces=("p1",), protocol_basis="constant"), EMPTY, checks, doc).basis == "constant"


def test_protocol_records_carry_their_staleness(tmp_path):
    import synth
    from report_testlib import load_records
    r = synth.record("protocol", None, None, {"acc_last100": 1.0}, seed=0)
    r["config"].update(protocol="p1", label="protocol-p1")
    df = load_records(tmp_path, [r])
    recs = ad.protocol_records(df, ["p1"])
    assert len(recs) == 1 and set(recs[0]) >= {"record", "stale", "stale_reason"}
    assert ad.protocol_records(df, ["other"]) == []
