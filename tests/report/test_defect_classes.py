"""Each class of verdict defect an audit found, with records that must give the other verdict
(issue 29): fix the class, not the instance."""
import statistics

import synth
from report_testlib import load_records

from rtrl_moe.report import curves as cv
from rtrl_moe.report.evidence import CONFIRMED, NOT_SUPPORTED, PARTIAL, REFUTED
from rtrl_moe.report.headline import AS_DOCUMENTED_ONLY, NOT_REPRODUCED, headline
from rtrl_moe.report.protocol_checks import ratio_verdict


def _mem(T, peak, lib):
    r = synth.record("measure", "sparse-rtrl", T, dict(synth.measure_metrics("sparse-rtrl", T),
                                                          tensor_bytes_peak=peak))
    r["code"] = {"library": lib, "harness": "h"}
    return r


def test_a_series_never_joins_records_of_two_code_versions(tmp_path):
    # the same learner and config, the jump at T=4096 comes with a code change: two flat series
    two = [_mem(16, 100e6, "old0"), _mem(64, 100e6, "old0"), _mem(4096, 150e6, "new1"), _mem(8192, 150e6, "new1")]
    df = load_records(tmp_path, two)
    cs = cv.curves(df, "metrics.tensor_bytes_peak", ("sparse-rtrl",))
    assert len(cs) == 2 and all(c.constant for c in cs) and all(c.label_code for c in cs)
    # flip: one code version, the same numbers are growth in T
    one = [_mem(T, b, "new1") for T, b in ((16, 100e6), (64, 100e6), (4096, 150e6), (8192, 150e6))]
    cs = cv.curves(load_records(tmp_path / "b", one), "metrics.tensor_bytes_peak", ("sparse-rtrl",))
    assert len(cs) == 1 and not cs[0].constant


def test_a_documented_speed_up_measured_as_a_slowdown_is_refuted_not_partial():
    assert ratio_verdict([0.78] * 5, 1.51) == REFUTED          # the case the rule was bent for
    assert ratio_verdict([1.40] * 5, 1.51) == CONFIRMED        # flip: the right side of 1
    assert ratio_verdict([1.2] * 5, 0.5) == REFUTED            # "x slower" measured faster
    assert statistics.median([0.78] * 5) < 1


def test_a_number_that_reproduces_under_its_own_protocol_never_reads_as_a_failure():
    v, why = headline(CONFIRMED, REFUTED, "", "measured")
    assert v == AS_DOCUMENTED_ONLY and "own protocol" in why
    # flip: arithmetic that is right is no reproduction of a measurement; nor is a protocol not re-run
    assert headline(CONFIRMED, REFUTED, "", "arithmetic")[0] == NOT_REPRODUCED
    assert headline("NOT MEASURED", REFUTED, "", "no protocol")[0] == NOT_REPRODUCED
    # a refutation that holds of any implementation stays REFUTED
    assert headline(CONFIRMED, REFUTED, "H x P", "measured")[0] == REFUTED


def test_untrained_tables_at_chance_are_not_supported(tmp_path):
    from rtrl_moe.report.protocol_checks import PROOF_TABLE, check_proof_T

    def rec(seed, acc):
        m = {"chance_accuracy": 0.25}
        for T in PROOF_TABLE:
            for arm in ("rnn", "moe_bptt", "moe_rtrl"):
                m[f"acc_{arm}_T{T}"] = acc + 0.01 * (seed % 3 - 1)
        r = synth.record("protocol", None, None, m, seed=seed)
        r["config"].update(protocol="proof_untrained_trials", label="protocol-proof_untrained_trials")
        return r
    at_chance = load_records(tmp_path, [rec(s, 0.25) for s in range(5)])
    assert check_proof_T(32)(at_chance).verdict == NOT_SUPPORTED
    # flip: trained arms far above chance are judged cell by cell again
    trained = load_records(tmp_path / "t", [rec(s, 0.9) for s in range(5)])
    assert check_proof_T(32)(trained).verdict in (REFUTED, PARTIAL, CONFIRMED)


def test_a_claim_that_holds_as_documented_only_says_how_the_bench_differs():
    import json

    from report_testlib import REPO

    from rtrl_moe.report.claims import by_id
    entries = by_id()
    for o in json.loads((REPO / "reports" / "claims.json").read_text(encoding="utf-8")):
        if o["verdict"] == AS_DOCUMENTED_ONLY and o["id"] in entries:
            assert entries[o["id"]].differs, o["id"]
            assert o["on_bench"]["differs"] == entries[o["id"]].differs


def test_a_claims_id_appears_in_one_source_file_only():
    import re

    from report_testlib import REPO

    from rtrl_moe.report.claims import CLAIMS
    sources = {p: p.read_text(encoding="utf-8") for p in (REPO / "rtrl_moe").rglob("*.py")}
    for cl in CLAIMS:
        pat = re.compile(r"[\"']" + re.escape(cl.id) + r"[\"']")
        where = [str(p.relative_to(REPO)) for p, s in sources.items() if pat.search(s)]
        assert len(where) == 1, (cl.id, where)


def test_practical_at_length_compares_points_of_one_code_version(tmp_path):
    from rtrl_moe.report.checks.scale import practical_at

    def rec(T, lib):
        m = dict(synth.measure_metrics("sparse-rtrl", T), wall_s=T * 0.02)
        r = synth.record("measure", "sparse-rtrl", T, m, label="docs-scale-memory")
        r["code"] = {"library": lib, "harness": "h"}
        return r
    same = load_records(tmp_path, [rec(10_000, "a"), rec(100_000, "a")])
    assert practical_at()(same).verdict == CONFIRMED
    mixed = load_records(tmp_path / "m", [rec(10_000, "a"), rec(100_000, "b")])
    ev = practical_at()(mixed)
    assert ev.verdict == PARTIAL and "same code" in ev.measured_text
