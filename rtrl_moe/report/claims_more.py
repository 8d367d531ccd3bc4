"""Claims found on a second sentence-by-sentence reading of documents 000..003 (the first reading's
are in claims.py).  Same shape; quotes verbatim; declared workloads and rules in declared.py."""
from __future__ import annotations

from . import checks as c

D000 = "000_0768a7c8117524ad.txt"
D002 = "002_2d1a4664ad96a01e.txt"
D003 = "003_e63134a16e36cea4.txt"
KiB = 2 ** 10


def more(Claim) -> list:
    """The entries, built with claims.Claim (passed in: claims.py imports this module)."""
    return [
        Claim("000-demo-acc-0.25", D000, "  Accuracy: 0.250",
              "accuracy 25% after 100 of 1000 steps of the extreme demo (T = 10,000)",
              "an intermediate training accuracy of demo_extreme.py; its task is not named",
              "train: sparse-rtrl at T = 10,000 for 100 steps",
              "no preset trains at T = 10,000: NOT MEASURED, stated",
              c.not_measured("no preset trains at T = 10,000 (the demo's length); the demo's task is not named")),
        Claim("000-table-time-linear", D000,
              "     256 |    567.23     1.034 |     89.67     0.334 |     78.72     1.156 |      0.89x",
              "the table's time columns: BPTT 0.145 s at 32 -> 2.145 s at 512, RTRL 0.156 s at 32 -> 9.934 s at 2048, "
              "both about linear in T",
              "Time(s) = one training step over T tokens; RTRL = sparse-rtrl",
              "measure: bptt and sparse-rtrl (docs-time, 3 seeds); time_step_median_ns at 32, 128, 512, 2048",
              "log-log exponent over the 4 longest lengths in 0.8..1.2 for each -> CONFIRMED; 0.5..1.5 -> PARTIAL",
              c.time_linear(("sparse-rtrl", "bptt"))),
        Claim("000-table-tbptt-faster", D000,
              "      64 |    147.89     0.267 |     72.34     0.123 |     78.51     0.298 |      0.90x",
              "BPTT Trunc faster per step than BPTT Full (0.123 s vs 0.267 s at 64)",
              "'BPTT Trunc' = tbptt (window 64)", "measure: bptt and tbptt pairs (docs-time)",
              "bptt slower than tbptt beyond the IQRs at every length -> CONFIRMED; some -> PARTIAL; none -> REFUTED",
              c.slower("bptt", "tbptt")),
        Claim("002-random-66", D002, "- **Loss improvement**: From 66% (random) to 100% (correct)",
              "a^n b^n: random 66%, trained 100%",
              "'random' = the task's chance accuracy (predicting the most frequent target); trained = bptt at lr 2e-3",
              "train: anbn; metrics.chance_accuracy and final_accuracy of bptt",
              "both parts: chance within 5 points of 66%; bptt mean in 98..100%",
              lambda df: c.merge([c.chance_level(0.66, "anbn")(df),
                                  c.accuracy_level("bptt", 1.0, 0.02, task="anbn", lr=2e-3, doc_text="100%",
                                                   preset="train-anbn-5k")(df)],
                                 ["random 66%", "trained 100%"], "accuracy")),
        Claim("002-tree-logn", D002, "   - Enables O(log n) lazy Jacobian products",
              "lazy Jacobian products in O(log n) of the buffer size n",
              "n = the tree's buffer (tree-rtrl learner_kwargs.n); cost of a range product grows with log n",
              "measure: tree-rtrl ns/token at n = 4..128, T = 256 (>= 2n), 3 seeds (docs-scale preset, docs-tree-n "
              "piece); sensitivity FLOPs (tree node products included) beside",
              "fit ns/token (median over seeds per n, >= 4 sizes spanning >= 8x) against log2(n) and against n: "
              "growth >= 5% with the log2 fit's r2 >= 0.8 and no worse than the line in n -> CONFIRMED; growth >= 5% "
              "with the line in n better and r2 >= 0.8 -> REFUTED; flat, falling or unexplained -> PARTIAL",
              c.tree_logn("tree-rtrl")),
        Claim("002-pt-shape", D002, "   - Maintains parameter sensitivities P_t: [B, H, Tp]",
              "the learner holds sensitivities of shape [B, H, P]: B x H x P entries",
              "the document's own H x P, against its '0.0005 MB' and 'not stored' elsewhere",
              "measure: rtrl tensor_bytes_learner_state per sequence vs H x P x itemsize",
              "learner state >= half of H x P x itemsize -> CONFIRMED; else REFUTED",
              c.sensitivities_stored(claim_stored=True)),
        Claim("003-bptt-oth2", D003, "Memory: O(T * H * H) or O(T * H) with checkpointing",
              "BPTT memory O(T x H x H): H x H x 4 B = 64 KiB per token at H = 128",
              "O() read as the growth law: BPTT memory linear in T; the coefficient H x H x 4 B compared with "
              "the measured slope by the band (a shape claim: at best PARTIAL outside it)",
              "measure: bptt tensor_bytes_peak over docs-memory's lengths",
              "growth >= 2% and linear (r2 >= 0.98) -> CONFIRMED, capped by the magnitude band",
              c.memory_grows("bptt", doc_slope=128 * 128 * 4)),
        Claim("003-1b-feasible", D003, "| T = 1B tokens | Impossible | Feasible ✓ |",
              "T = 10^9: BPTT impossible, RTRL feasible", "on our machine, as run by the harness; RTRL = sparse-rtrl",
              "measure at T >= 10^9: bptt status, sparse-rtrl status", "both parts: bptt oom/timeout, sparse-rtrl ok",
              lambda df: c.merge([c.fails_at("bptt", 1_000_000_000)(df),
                                  c.runs_at_length(("sparse-rtrl",), 1_000_000_000)(df)],
                                 ["BPTT impossible", "RTRL feasible"], "memory")),
        Claim("003-only-viable", D003, "**Sparse MoE RTRL is the only viable scalable approach.** ✓",
              "only sparse MoE RTRL scales", "scalable = completes above T = 10,000; alternatives: bptt, ckpt-bptt",
              "measure: sparse-rtrl, bptt, ckpt-bptt at T > 10,000; status",
              "an alternative completes -> REFUTED; all fail and sparse-rtrl completes -> CONFIRMED",
              c.only_practical(learner="sparse-rtrl")),
    ]
