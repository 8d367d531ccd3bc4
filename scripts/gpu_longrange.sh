#!/usr/bin/env bash
# The MoE arm's online sparse-rtrl points on one GPU (issue 30), in pieces of at most ~8 minutes.
#
# What it runs: sparse-rtrl on the documents' MoE cell (d_model 32, 4 slots, 4 experts, top-2,
# read/write 2) under the long-range protocol's episodic arm (rtrl_moe/longrange/protocol.py):
# 16 aligned fresh episodes an update, the state reset per episode, the MoE's tuned lr (1e-3) and
# curriculum, 600 updates, 256 fresh held-out episodes. With aligned episodes and no optimizer
# step on a window without a target, "an update every 16 tokens" and "one update per episode" are
# the same run (only the window holding the queries has a target). D = 64 first (the longest D
# BPTT learns on this CPU), then D = 16; seeds 0, 1, 2 (the verdict seeds).
#
# Time: new points start only during the first BUDGET_S seconds; each point is stopped after
# TIMEOUT_S; so a call ends within BUDGET_S + TIMEOUT_S (+ start-up), 450 s by default. Points
# are pieces: each finished point is appended to OUT at once; a rerun of this script skips the
# points stored ok (same code) and goes on with the rest; the runner prints an ETA after each.
# Not yet run on a GPU (no GPU was lent to the session that wrote it); the CPU smoke test:
#   DEVICE=cpu DELAYS=4 SEEDS=0 UPDATES=2 OUT=local/gpu-smoke.jsonl bash scripts/gpu_longrange.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-results/longrange-gpu.jsonl}
DEVICE=${DEVICE:-cuda}
DELAYS=${DELAYS:-64,16}
SEEDS=${SEEDS:-0,1,2}
BUDGET_S=${BUDGET_S:-150}
TIMEOUT_S=${TIMEOUT_S:-300}
EXTRA=()
if [[ -n "${UPDATES:-}" ]]; then EXTRA+=(--updates "$UPDATES"); fi
export OMP_NUM_THREADS=1
# the delays in the order given (64 first); a failed point is recorded and the rest go on
"$PY" -m rtrl_moe.longrange run --models moe --only moe/sparse-rtrl --delays "$DELAYS" \
  --seeds "$SEEDS" --device "$DEVICE" --out "$OUT" --budget-s "$BUDGET_S" \
  --timeout "$TIMEOUT_S" "${EXTRA[@]}" || true
"$PY" - "$OUT" <<'PYEOF'
import sys
from rtrl_moe.records import read_records
done = [r for r in read_records(sys.argv[1]) if r["status"] == "ok"]
left = [r for r in read_records(sys.argv[1]) if r["status"] != "ok"]
print(f"{len(done)} point(s) stored ok in {sys.argv[1]}; {len(left)} record(s) not ok "
      "(rerun this script to go on)")
PYEOF
