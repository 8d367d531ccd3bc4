"""The two verdicts joined: every branch of headline()'s rule, and the tally the report quotes."""
import pytest

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED
from rtrl_moe.report.headline import (
    HEADLINE_VERDICTS,
    NOT_REPRODUCED,
    NOT_SUPPORTED,
    first_screen,
    headline,
    tally,
    tally_sentence,
)

MODEL_DEPENDENT = ""                    # no structural reason: the refutation rests on our implementation
STRUCT = "RTRL holds H x P sensitivities"  # the claim entry's structural reason


@pytest.mark.parametrize("ad", [PARTIAL, NOT_MEASURED])
def test_a_bench_refutation_of_our_model_alone_is_not_reproduced_never_refuted(ad):
    v, why = headline(ad, REFUTED, MODEL_DEPENDENT)
    assert v == NOT_REPRODUCED and "re-implementation" in why


def test_structural_reasons_live_in_the_claim_entries():
    from rtrl_moe.report.claims import by_id
    assert by_id()["003-table-64"].structural and not by_id()["000-time-ratio"].structural


def test_a_structural_refutation_is_refuted_whatever_the_protocol_says():
    assert headline(CONFIRMED, REFUTED, STRUCT)[0] == REFUTED


def test_refuted_both_ways_is_refuted():
    assert headline(REFUTED, REFUTED, MODEL_DEPENDENT)[0] == REFUTED


def test_a_figure_refuted_under_its_own_protocol():
    assert headline(REFUTED, NOT_MEASURED, MODEL_DEPENDENT)[0] == REFUTED
    assert headline(REFUTED, PARTIAL, MODEL_DEPENDENT)[0] == REFUTED
    # the bench confirms the claim the figure illustrates: neither side alone decides
    assert headline(REFUTED, CONFIRMED, MODEL_DEPENDENT)[0] == PARTIAL


def test_uninformative_is_never_confirmed():
    assert headline(NOT_MEASURED, NOT_SUPPORTED, "x")[0] == NOT_SUPPORTED
    assert headline(NOT_SUPPORTED, NOT_SUPPORTED, "x")[0] == NOT_SUPPORTED
    assert headline(NOT_SUPPORTED, NOT_MEASURED, "x")[0] == NOT_SUPPORTED
    # informative on one side only: at most PARTIAL
    assert headline(CONFIRMED, NOT_SUPPORTED, "x")[0] == PARTIAL
    assert headline(NOT_SUPPORTED, CONFIRMED, "x")[0] == PARTIAL


def test_the_bench_decides_where_it_measured_and_the_protocol_where_it_did_not():
    assert headline(NOT_MEASURED, CONFIRMED, "x")[0] == CONFIRMED
    assert headline(CONFIRMED, NOT_MEASURED, "x")[0] == CONFIRMED
    assert headline(NOT_MEASURED, NOT_MEASURED, "x")[0] == NOT_MEASURED


def _obj(i, verdict, source="000_x.txt"):
    return {"id": f"c{i}", "source": source, "quote": "q", "documented": None, "verdict": verdict,
            "why": "w", "as_documented": {"verdict": NOT_MEASURED, "basis": "not run"},
            "on_bench": {"verdict": verdict}}


def test_tally_counts_every_document_once_and_says_so():
    objs = [_obj(0, CONFIRMED), _obj(1, NOT_REPRODUCED), _obj(2, REFUTED, "004_y.txt")]
    t = tally(objs)
    assert sum(t.values()) == 3 and set(t) == set(HEADLINE_VERDICTS)
    assert tally_sentence(objs) == ("Of 3 claims of documents 000-004: 1 CONFIRMED, 1 NOT REPRODUCED ON THE BENCH, "
                                    "1 REFUTED.")


def test_first_screen_is_one_table_per_document_from_the_objects():
    objs = [_obj(0, CONFIRMED), _obj(1, REFUTED, "004_y.txt")]
    tabs = first_screen(objs, {"c0": "plain words"})
    assert [t["source"] for t in tabs] == ["000_x.txt", "004_y.txt"]
    row = tabs[0]["rows"][0]
    assert row["plain"] == "plain words" and row["verdict"] == CONFIRMED
    assert row["as_documented"] == "NOT MEASURED (not run)" and tabs[1]["rows"][0]["plain"] == "q"
    assert row["doc_answer"] == "not re-run under its own protocol"
