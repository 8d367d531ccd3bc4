"""The exactness checks on synthetic upstream_exactness records: CONFIRMED when the claim's
arms are exact in float64, REFUTED when one point is wrong, PARTIAL in between, and float32
decides nothing."""
from rtrl_moe.records import append_record, make_record
from rtrl_moe.report import protocol_exactness as pe
from rtrl_moe.report.claims import CLAIMS
from rtrl_moe.report.data import load
from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED

GIT = {"commit": "0" * 40, "dirty": False}
MACHINE = {"machine_id": "test-machine"}
ARMS = ("rtrl", "sparse-rtrl-readonly", "sparse-rtrl", "blockrtrl-sparse", "blockrtrl-full",
        "blockrtrl-full-fixed")


def frame(tmp_path, per_seed, piece=pe.PIECE):
    """per_seed: [{(arm, dtype, T): rel_err}] -> the report's DataFrame of those records."""
    out = tmp_path / "protocols.jsonl"
    for seed, errs in enumerate(per_seed):
        pts = [{"arm": a, "dtype": dt, "T": T, "rel_err": e, "max_abs_err": e, "cosine": 1 - e,
                "worst_param": "state_mha.w_q", "worst_param_rel_err": e,
                "slots_written": 2, "write_set_changes": 0}
               for (a, dt, T), e in errs.items()]
        cfg = {"kind": "protocol", "label": f"protocol-{piece}", "protocol": piece, "seed": seed,
               "arch": "upstream", "model_type": "upstream-moe", "model": {"d_model": 32}}
        metrics = {"points": pts, "script": {"arms": {"rtrl": {"min_cos": 1.0, "below_0.99": 0}}}}
        append_record(out, make_record(config=cfg, status="ok", metrics=metrics, git=GIT,
                                       machine=MACHINE, point_key=f"{piece}|{seed}"))
    df, _ = load(tmp_path)
    return df


#: the exactness claims' own checks, from their entries (claims/d000.py, d001.py)
CLAIM_CHECKS = {cl.id: cl.protocol_check for cl in CLAIMS if cl.id in ("000-exact", "001-sparse-formula",
                                                                      "001-exact-recursion")}


def errors(value=1e-16, **override):
    e = {(a, dt, T): value for a in ARMS for dt in ("float64", "float32") for T in (1, 4, 16)}
    for (a, dt, T), v in override.get("points", {}).items():
        e[(a, dt, T)] = v
    return e


def test_exact_arms_confirm_every_claim(tmp_path):
    df = frame(tmp_path, [errors() for _ in range(5)])
    for cid, check in CLAIM_CHECKS.items():
        ev = check(df)
        assert ev.verdict == CONFIRMED, (cid, ev.measured_text)
        assert ev.value <= 1e-10
    assert pe.CHECKS[pe.PIECE](df).verdict == CONFIRMED


def test_one_wrong_point_of_the_documents_rtrl_refutes_its_claims_only(tmp_path):
    bad = errors(points={("sparse-rtrl-readonly", "float64", 16): 0.2})
    df = frame(tmp_path, [errors(), bad, errors()])
    assert CLAIM_CHECKS["000-exact"](df).verdict == REFUTED
    assert CLAIM_CHECKS["001-sparse-formula"](df).verdict == REFUTED
    assert pe.CHECKS[pe.PIECE](df).verdict == REFUTED
    # the dense recursion is another arm: still exact
    assert CLAIM_CHECKS["001-exact-recursion"](df).verdict == CONFIRMED


def test_the_documents_assembly_alone_refutes_000(tmp_path):
    df = frame(tmp_path, [errors(points={("blockrtrl-sparse", "float64", 1): 0.87})])
    assert CLAIM_CHECKS["000-exact"](df).verdict == REFUTED


def test_errors_above_rounding_but_small_are_partial(tmp_path):
    df = frame(tmp_path, [errors(points={("rtrl", "float64", 4): 1e-8})])
    assert CLAIM_CHECKS["001-exact-recursion"](df).verdict == PARTIAL


def test_float32_decides_nothing_and_context_arms_decide_nothing(tmp_path):
    df = frame(tmp_path, [errors(points={("rtrl", "float32", 16): 0.5,
                                         ("blockrtrl-full", "float64", 16): 0.5,
                                         ("sparse-rtrl", "float64", 4): 0.5})])
    assert CLAIM_CHECKS["001-exact-recursion"](df).verdict == CONFIRMED
    assert CLAIM_CHECKS["000-exact"](df).verdict == CONFIRMED


def test_missing_records_or_arms_are_not_measured(tmp_path):
    assert pe.CHECKS[pe.PIECE](frame(tmp_path / "a", [errors()], piece="other")).verdict \
        == NOT_MEASURED
    only_rtrl = {k: v for k, v in errors().items() if k[0] == "rtrl"}
    df = frame(tmp_path / "b", [only_rtrl])
    assert CLAIM_CHECKS["000-exact"](df).verdict == NOT_MEASURED
    wrong_rtrl_only = {k: 0.3 for k in errors() if k[0] == "sparse-rtrl-readonly"}
    df = frame(tmp_path / "c", [wrong_rtrl_only])
    assert CLAIM_CHECKS["000-exact"](df).verdict == REFUTED     # one arm already wrong


def test_the_claim_entries_name_the_piece_and_the_script():
    d = pe.DOCUMENTED[pe.PIECE]
    assert set(CLAIM_CHECKS) == {cl.id for cl in CLAIMS if pe.PIECE in cl.pieces}
    assert "debug_gradients.py@7f2998d" in d["script"] and d["basis"] == "measured"
