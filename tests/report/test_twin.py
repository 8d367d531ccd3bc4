"""reports/claims.json: one object per claim with the fields the issue names, numbers in one unit,
records that point at real lines, and the same objects behind the HTML and Markdown rows."""
from __future__ import annotations

import json

from rtrl_moe.report.claims import CLAIMS
from rtrl_moe.report.twin import stale_of

FIELDS = {"id", "source", "quote", "documented", "measured", "ratio", "verdict", "rule", "workload", "records",
          "stale", "stale_reason", "as_documented", "on_bench", "why"}
TWO = {"verdict", "basis", "text", "pieces", "script", "records", "answer"}


def test_claims_json_objects(built_report):
    out, info = built_report
    everything = json.loads((out / "claims.json").read_text(encoding="utf-8"))
    # documents 000-003's claims, then document 004's (report/ponder.py), same fields
    objs = [o for o in everything if not o["id"].startswith("004-")]
    assert [o["id"] for o in objs] == [cl.id for cl in CLAIMS]
    assert all(set(o) == FIELDS and o["source"].startswith("004_")
               for o in everything if o["id"].startswith("004-"))
    for o in everything:   # both verdicts on every claim of 000-004, in one shape
        assert set(o["as_documented"]) == TWO and {"verdict", "text"} <= set(o["on_bench"]), o["id"]
        assert o["why"] or o["verdict"] == o["on_bench"]["verdict"], o["id"]
    for o in objs:
        assert set(o) == FIELDS, o["id"]
        if o["measured"] and o["documented"]:
            assert o["measured"]["unit"] == o["documented"]["unit"], o["id"]
            assert abs(o["ratio"] - o["measured"]["value"] / o["documented"]["value"]) < 1e-9 * abs(o["ratio"]) + 1e-15
        else:
            assert o["ratio"] is None
        for r in o["records"]:
            f, line = r["record"].rsplit(":", 1)
            assert f.endswith(".jsonl") and int(line) >= 1 and r["run_id"]
    md = (out / "REPORT.md").read_text(encoding="utf-8")
    html = (out / "index.html").read_text(encoding="utf-8")
    for o in objs:
        assert f"`{o['id']}`" in md and o["verdict"] in md
        assert f"<code>{o['id']}</code>" in html


def test_some_fixture_claim_has_numbers_and_records(built_report):
    out, _ = built_report
    objs = {o["id"]: o for o in json.loads((out / "claims.json").read_text(encoding="utf-8"))}
    o = objs["000-rtrl-80mb"]
    assert o["documented"] == {"value": 80 * 2 ** 20, "unit": "B"}
    assert o["measured"]["unit"] == "B" and o["ratio"] < 0.5 and o["verdict"] != "CONFIRMED"
    assert o["records"] and o["stale"] is None      # fixture records carry no code fingerprint


def test_stale_of():
    cur = {"record": "a:1", "run_id": "r", "commit": "c", "stale": False, "stale_reason": ""}
    old = dict(cur, stale=True, stale_reason="code changed since: library")
    unk = dict(cur, stale=None, stale_reason="no fingerprint")
    assert stale_of([cur])[0] is False
    assert stale_of([cur, old]) == (True, "1 of 2 records measured before the last change to: library")
    assert stale_of([cur, unk])[0] is None
    assert stale_of([])[0] is None
