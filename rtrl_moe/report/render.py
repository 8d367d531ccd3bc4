"""Assemble the report context and render it with jinja2 (HTML and Markdown)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from . import (
    as_documented,
    extras,
    figures,
    findings,
    headline,
    longrange,
    targets,
    targets_upstream,
    twin,
)
from .claims import CLAIMS, Claim
from .curves import memo
from .data import col, machine_label, num
from .evidence import NOT_MEASURED, Evidence
from .figure_out import FigureOut
from .fmt import fmt_bytes
from .workload import config_label

TEMPLATES = Path(__file__).parent / "templates"
COMMANDS = (
    ("measure (CPU, about 11-12 minutes on 2 cores)", "python -m rtrl_moe.bench sweep --preset quick"),
    ("the longer CPU points (about 30 minutes)", "python -m rtrl_moe.bench sweep --preset long"),
    ("the documents' own workloads (declared per claim; runs in pieces by --label docs-memory, docs-time, "
     "docs-tree-anbn, docs-tree-haystack, docs-budget, docs-agree)", "python -m rtrl_moe.bench sweep --preset docs"),
    ("the accuracy runs on the documents' model (pieces train-anbn-5k, train-pair, train-003, "
     "train-trajectory; about 2.5 hours on one core)", "python -m rtrl_moe.bench sweep --preset train"),
    ("the online learners' frontier (pieces frontier-agree, frontier-cost, frontier-train)",
     "python -m rtrl_moe.bench sweep --preset frontier"),
    ("the documents' own experiments as their scripts ran them, on the upstream cell (seeds 0-4; "
     "docs/PROTOCOLS.md)", "python -m rtrl_moe.protocols run --seeds 0,1,2,3,4 --out results/protocols.jsonl"),
    ("measure on a GPU machine", "python -m rtrl_moe.bench sweep --preset gpu"),
    ("regenerate this report from results/", "python -m rtrl_moe.bench report --results results/ --out reports/"),
)
VERDICT_CLASS = dict(headline.CLASS)


@dataclass
class Section:
    slug: str
    title: str
    subtitle: str
    gpu: bool
    figures: list = field(default_factory=list)
    crossover: list = field(default_factory=list)


def slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "x"


def evaluate(df: pd.DataFrame, claims=CLAIMS) -> list:
    out = []
    with memo(df):
        for cl in claims:
            out.append((cl, _evaluate_one(cl, df)))
    return out


def _evaluate_one(cl: Claim, df: pd.DataFrame) -> Evidence:
    try:
        return cl.evaluate(df)
    except Exception as e:  # a check that fails is reported, never hidden or turned into a pass
        return Evidence(NOT_MEASURED, f"the check raised {type(e).__name__}: {e}", [], None,
                          ["this is a bug in the report's check; the verdict is withheld"])


def sections(df: pd.DataFrame) -> list:
    if len(df) == 0:
        return []
    groups = []
    mid = col(df, "machine.machine_id").astype(str)
    dev = col(df, "config.device").fillna("cpu").astype(str)
    keys = sorted(set(zip(mid, dev)), key=lambda k: (k[1] != "cpu", k[0], k[1]))
    if len(keys) == 1:
        groups.append(("all", "Measurements", df, keys[0][1] == "cuda"))
    else:
        for m, d in keys:
            sub = df[(mid == m) & (dev == d)]
            gpu = d == "cuda"
            label = machine_label(sub)
            groups.append((slug(f"{m}-{d}"), f"{'GPU: ' if gpu else ''}{label} ({d})", sub, gpu))
    out = []
    for s, title, sub, gpu in groups:
        r = sub.iloc[0]
        subtitle = ", ".join(str(x) for x in (r.get("machine.cpu"), r.get("machine.gpu"),
                                             f"torch {r.get('machine.torch')}") if x and x == x)
        sec = Section(s, title, f"{len(sub)} records; {subtitle}", gpu)
        # one model config per figure, named in its title: a series of another config never shares
        # the axes (the documents' config first)
        cfgs = config_label(sub)
        for cfg in sorted(set(cfgs)):
            part, name_cfg = sub[cfgs == cfg], cfg[1:]
            for kind, ftitle, fn, caption in figures.FIGURES:
                fig = fn(part)
                if fig is None:
                    continue
                fig.suptitle(f"model: {name_cfg}", fontsize=9)
                name = f"{s}-{slug(name_cfg)}-{kind}.png"
                sec.figures.append(FigureOut(kind, f"fig-{s}-{slug(name_cfg)}-{kind}", f"{ftitle}: {name_cfg}",
                                             caption, figures.png(fig), f"figures/{name}"))
        sec.crossover = figures.crossover_rows(sub)
        out.append(sec)
    return out


def header(df: pd.DataFrame) -> dict:
    if len(df) == 0:
        return {"commits": [], "date": None, "machines": [], "n": 0, "kinds": {}, "statuses": {}, "runs": [],
                "labels": []}
    commits = []
    cm = col(df, "commit").fillna("unknown").astype(str)
    dirty = col(df, "dirty").map(lambda v: bool(v) if v is not None and v == v else False)
    for (k, d), g in df.groupby([cm, dirty], sort=True):
        commits.append({"commit": k, "dirty": bool(d), "n": len(g)})
    created = sorted(str(x) for x in col(df, "created").dropna())
    machines = []
    for m, g in df.groupby(col(df, "machine.machine_id").astype(str), sort=True):
        r = g.iloc[0]

        def get(k):
            v = r.get(f"machine.{k}")
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else v
        ram = num(g, "machine.ram_bytes").max()
        machines.append({"id": m, "hostname": get("hostname"), "cpu": get("cpu"), "cores": get("cores"),
                         "ram": fmt_bytes(ram) if ram == ram else "", "gpu": get("gpu") or "none",
                         "driver": get("gpu_driver"), "cuda": get("cuda"), "torch": get("torch"),
                         "python": get("python"), "platform": get("platform"), "n": len(g),
                         "devices": ", ".join(sorted(set(col(g, "config.device").fillna("cpu").astype(str))))})
    kinds = col(df, "config.kind").astype(str).value_counts().sort_index().to_dict()
    statuses = col(df, "status").astype(str).value_counts().sort_index().to_dict()
    runs = sorted(set(col(df, "run_id").astype(str)))
    labels = sorted(set(col(df, "config.label").dropna().astype(str)))
    return {"commits": commits, "date": created[-1] if created else None, "machines": machines, "n": len(df),
            "kinds": kinds, "statuses": statuses, "runs": runs, "labels": labels}


def not_measured_list(results, df, secs) -> list:
    items = []
    if len(df) == 0:
        items.append(("results/", "no records: results/ holds no *.jsonl data"))
    else:
        if not (col(df, "config.device") == "cuda").any():
            items.append(("GPU", "no GPU results (config.device == 'cuda'): every GPU figure and GPU claim is "
                          "NOT MEASURED; run the gpu preset on a GPU machine"))
        if col(df, "machine.machine_id").nunique() < 2:
            items.append(("machines", "results from one machine only: no per-machine comparison"))
        for kind in ("measure", "agree", "train"):
            if not (col(df, "config.kind") == kind).any():
                items.append((kind, f"no `{kind}` records"))
        bad = df[~col(df, "status").isin(["ok"])]
        kinds = col(bad, "config.kind").fillna("?").astype(str)
        for (kind, st), g in bad.groupby([kinds, col(bad, "status").astype(str)], sort=True):
            where = f"{kind} records with status {st}"
            if kind == "longrange":   # its own section lists each point and why it was not run
                items.append((where, f"{len(g)} points: see the long-range section"))
                continue
            names = sorted({f"{a}" + (f" T={int(b):,}" if b == b else "")
                            for a, b in zip(col(g, "config.learner").fillna(col(g, "config.protocol")).astype(str),
                                            num(g, "config.seq_len"))})
            items.append((where, f"{len(g)} points: " + ", ".join(names[:12])
                          + (f" and {len(names) - 12} more" if len(names) > 12 else "")))
    for cl, ev in results:
        if ev.verdict == NOT_MEASURED:
            items.append((cl.id, ev.measured_text))
    return items


REPO = Path(__file__).resolve().parents[2]


def scope(df: pd.DataFrame, results_dir, objs: list) -> dict:
    """What this report read, in one sentence; for a report of any folder but the committed
    results/, what it is (a local run, which presets) and, for the claims it could decide, the
    committed report's verdict beside its own (read from the committed reports/claims.json)."""
    where = Path(results_dir) if results_dir is not None else None
    files = sorted({str(x).split(":")[0] for x in col(df, "_source").dropna()}) if len(df) else []
    shown = "results/"
    if where is not None:   # the same words however the folder was named (relative, absolute)
        try:
            shown = where.resolve().relative_to(REPO).as_posix() + "/"
        except ValueError:
            shown = where.as_posix()
    sentence = (f"Every quantitative claim of documents 000-004 (../shared/claims/) set beside {len(df):,} records "
                f"read from {shown} ({', '.join(files) if files else 'no file'}).")
    committed = where is None or where.resolve() == (REPO / "results").resolve()
    out = {"sentence": sentence, "local": "", "compare": []}
    if committed:
        return out
    labels = sorted(set(col(df, "config.label").dropna().astype(str))) if len(df) else []
    out["local"] = (f"It reads {shown}, not the committed results/: the presets run here "
                    f"({', '.join(labels[:8]) or 'none'}{' ...' if len(labels) > 8 else ''}) decide only some claims, "
                    "so most read NOT MEASURED. The committed verdicts, on every preset, are in the repository's "
                    "reports/REPORT.md.")
    ref = REPO / "reports" / "claims.json"
    if ref.is_file():
        import json
        try:
            theirs = {o["id"]: o for o in json.loads(ref.read_text(encoding="utf-8"))}
        except (ValueError, KeyError, TypeError):
            theirs = {}
        for o in objs:
            t = theirs.get(o["id"])
            if t is not None and o["on_bench"]["verdict"] != NOT_MEASURED:
                out["compare"].append({"id": o["id"], "here": o["verdict"], "committed": t.get("verdict", "?"),
                                       "here_text": headline.clauses(o["on_bench"].get("text", ""), 160),
                                       "committed_text": headline.clauses(t.get("on_bench", {}).get("text", ""), 160)})
    return out


def context(df: pd.DataFrame, loader: str, results_dir=None) -> dict:
    results = evaluate(df)
    secs = sections(df)
    fig_anchor = {}
    for s in secs:
        for f in s.figures:
            fig_anchor.setdefault(f.kind, f.anchor)
    claims = []
    with memo(df):
        for cl, ev in results:
            obj = twin.claim_object(cl, ev, as_documented.judge(cl, df))
            claims.append({"obj": obj, **twin.display(obj), "id": cl.id, "anchor": f"claim-{cl.id}",
                           "source": cl.source, "quote": cl.quote, "also": list(cl.also),
                           "documented": cl.documented, "reading": cl.reading, "measured": cl.measured,
                           "test": cl.test, "verdict": obj["verdict"], "on_bench": ev.verdict,
                           "vclass": VERDICT_CLASS[obj["verdict"]], "measured_text": ev.measured_text,
                           "notes": list(ev.notes), "rows": ev.rows, "row_cols": _row_cols(ev.rows),
                           "figure": fig_anchor.get(ev.figure) if ev.figure else None,
                           "figure_kind": ev.figure})
    ponder_claims = extras.ponder_claims(df)
    objs = [c["obj"] for c in claims] + ponder_claims
    plain = {c["id"]: c["documented"] for c in claims}
    lr = longrange.section(df)
    section_findings = [fn(df) for fn in (getattr(longrange, "finding", None), getattr(extras, "ponder_finding", None))
                        if fn is not None]
    found = findings.build(objs, section_findings, {cl.id: cl.finding for cl, _ in results if cl.finding})
    stale = findings.stale_summary(objs)
    return {"header": header(df), "loader": loader, "commands": COMMANDS, "empty": len(df) == 0,
            "findings": found, "bars": findings.verdict_bars(objs), "stale": stale,
            "scope": scope(df, results_dir, objs),
            "readme_findings": findings.readme_block(found, headline.tally_sentence(objs), stale),
            "ponder": ponder_claims, "frontier": extras.frontier_section(df),
            "ponder_frontier": extras.ponder_frontier_section(df),
            "ponder_pretrained": extras.ponder_pretrained_section(df),
            "phases": extras.phases_section(df),
            "longrange": lr,
            "claims": claims, "claims_json": twin.dumps(objs),
            "counts": headline.tally(objs), "n_claims": len(objs), "tally": headline.tally_sentence(objs),
            "verdicts": headline.HEADLINE_VERDICTS, "vclass": VERDICT_CLASS,
            "first_screen": headline.first_screen(objs, plain), "caveats": caveats(df),
            "sections": secs, "not_measured": not_measured_list(results, df, secs),
            "targets": targets.evaluate(df) + targets_upstream.evaluate(df), "tclass": {targets.MET: "confirmed", targets.MISSED: "refuted",
                                                   targets.NOT_MEASURED: "notmeasured", targets.REPORTED: "partial"},
            "sources": sorted(set(cl.source for cl, _ in results) | {c["source"] for c in ponder_claims})}


def caveats(df: pd.DataFrame) -> list[str]:
    """What a reader must know before trusting a row, said from the records, in three sentences."""
    cuda = bool(len(df)) and (col(df, "config.device").fillna("cpu").astype(str) == "cuda").any()
    return [
        ("GPU and CPU records both present; each row says which device it rests on." if cuda else
         "CPU only: the documents' GPU memory figures are set beside their nearest CPU metric (exact tensor bytes, "
         "with RSS beside)."),
        "rtrl_moe is a re-implementation from the documents and a reading of upstream's code, not the authors' code.",
        "The plain-words column quotes the documents' figures as written; the rules read their MB as MiB and the "
        "evidence shows every figure in binary units (KiB, MiB, GiB).",
    ]


def _row_cols(rows: list) -> list:
    cols = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def md_cell(s) -> str:
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                                                 default_for_string=False, default=False),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["mdcell"] = md_cell
    return env


def render(ctx: dict) -> tuple[str, str]:
    env = environment()
    return env.get_template("report.html.j2").render(**ctx), env.get_template("report.md.j2").render(**ctx)


def write_readme_findings(readme: Path, block: str) -> bool:
    """Put the report's findings between the README's markers (the same text as FINDINGS.md);
    False when the README has no markers (then it is left alone)."""
    from .findings import README_BEGIN, README_END
    text = readme.read_text(encoding="utf-8")
    a, b = text.find(README_BEGIN), text.find(README_END)
    if a < 0 or b < a:
        return False
    new = text[:a] + block.rstrip("\n") + text[b + len(README_END):]
    if new != text:
        readme.write_text(new, encoding="utf-8", newline="\n")
    return True


def build(results_dir, out_dir) -> dict:
    """Render the report of results_dir into out_dir; returns the paths written and the counts."""
    from . import data

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    df, loader = data.load(results_dir)
    ctx = context(df, loader, results_dir)
    html, md = render(ctx)
    figdir = out_dir / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    written = []
    extra = [x["figure"] for x in (ctx["frontier"], ctx["ponder_frontier"], ctx["phases"],
                                        ctx["longrange"]) if x["figure"] is not None]
    for f in [f for sec in ctx["sections"] for f in sec.figures] + extra:
        p = out_dir / f.path
        p.write_bytes(f.png)
        written.append(p)
    keep = {p.resolve() for p in written}
    for old in sorted(figdir.glob("*.png")):  # figures of an earlier build that this one lacks
        if old.resolve() not in keep:
            old.unlink()
    (out_dir / "index.html").write_text(html, encoding="utf-8", newline="\n")
    (out_dir / "REPORT.md").write_text(md, encoding="utf-8", newline="\n")
    (out_dir / "claims.json").write_text(ctx["claims_json"], encoding="utf-8", newline="\n")
    (out_dir / "FINDINGS.md").write_text(ctx["readme_findings"], encoding="utf-8", newline="\n")
    if out_dir.resolve() == (REPO / "reports").resolve():
        write_readme_findings(REPO / "README.md", ctx["readme_findings"])
    return {"html": out_dir / "index.html", "markdown": out_dir / "REPORT.md", "figures": written,
            "claims_json": out_dir / "claims.json",
            "counts": ctx["counts"], "records": ctx["header"]["n"]}
