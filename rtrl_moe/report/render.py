"""Assemble the report context and render it with jinja2 (HTML and Markdown)."""
from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from . import as_documented, extras, figures, headline, longrange, targets, targets_upstream, twin
from .claims import CLAIMS, Claim
from .curves import memo
from .data import col, machine_label, num
from .evidence import NOT_MEASURED, Evidence
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
class FigureOut:
    kind: str
    anchor: str
    title: str
    caption: str
    png: bytes
    path: str          # relative to the report folder (Markdown)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


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
        for st, g in bad.groupby(col(bad, "status").astype(str), sort=True):
            items.append((f"status {st}", f"{len(g)} points: " + ", ".join(sorted(set(
                f"{a} T={int(b)}" for a, b in zip(col(g, "config.learner"), num(g, "config.seq_len").fillna(-1))))[:12])))
    for cl, ev in results:
        if ev.verdict == NOT_MEASURED:
            items.append((cl.id, ev.measured_text))
    return items


def context(df: pd.DataFrame, loader: str) -> dict:
    results = evaluate(df)
    secs = sections(df)
    fig_anchor = {}
    for s in secs:
        for f in s.figures:
            fig_anchor.setdefault(f.kind, f.anchor)
    claims = []
    with memo(df):
        for cl, ev in results:
            obj = twin.claim_object(cl, ev, as_documented.judge(cl.id, df))
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
    return {"header": header(df), "loader": loader, "commands": COMMANDS, "empty": len(df) == 0,
            "ponder": ponder_claims, "frontier": extras.frontier_section(df),
            "ponder_frontier": extras.ponder_frontier_section(df),
            "ponder_pretrained": extras.ponder_pretrained_section(df),
            "phases": extras.phases_section(df),
            "longrange": longrange.section(df),
            "claims": claims, "claims_json": twin.dumps(objs),
            "counts": headline.tally(objs), "n_claims": len(objs), "tally": headline.tally_sentence(objs),
            "verdicts": headline.HEADLINE_VERDICTS, "vclass": VERDICT_CLASS,
            "first_screen": headline.first_screen(objs, plain), "caveats": caveats(df),
            "sections": secs, "not_measured": not_measured_list(results, df, secs),
            "targets": targets.evaluate(df) + targets_upstream.evaluate(df), "tclass": {targets.MET: "confirmed", targets.MISSED: "refuted",
                                                   targets.NOT_MEASURED: "notmeasured", targets.REPORTED: "partial"},
            "sources": sorted(set(cl.source for cl, _ in results) | {c["source"] for c in ponder_claims})}


def caveats(df: pd.DataFrame) -> list[str]:
    """What a reader must know before trusting a row: said from the records, not assumed."""
    cuda = bool(len(df)) and (col(df, "config.device").fillna("cpu").astype(str) == "cuda").any()
    upstream = bool(len(df)) and (col(df, "config.kind").astype(str) == "protocol").any()
    return [
        ("GPU and CPU records both present: each row says which device its records come from" if cuda else
         "CPU only: no GPU record in results/, so every figure the documents measured with "
         "torch.cuda.max_memory_allocated is compared with its nearest CPU metric"),
        "memory: tensor_bytes_peak (exact count of what the learner holds) is the bench's metric; rss_peak "
        "(process resident memory) is shown beside it; the documents' MB figures are CUDA allocator or "
        "process figures from another machine",
        "a re-implementation: rtrl_moe is written from the documents and a reading of the upstream code, not "
        "the authors' code; 'on the bench' verdicts rest on our model of the documents' config, "
        "'as documented' ones on the document's own protocol",
        ("the `upstream` variant (rtrl_moe.UpstreamMoE, docs/UPSTREAM.md) follows upstream's model "
         "structure and parameter count; the protocols preset runs the documents' experiments on it"
         if upstream else "no protocol records in results/: every 'as documented' verdict that needs a "
                          "re-run of a document's script is NOT MEASURED (arithmetic figures are recomputed)"),
        "NOT REPRODUCED ON THE BENCH: refuted on our re-implementation only, never a refutation of the "
        "authors' code; REFUTED: refuted under the document's own protocol, or by arithmetic that holds "
        "of any implementation",
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
