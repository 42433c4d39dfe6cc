"""The Umeå report's Table 1, and ours beside it.

Nilsson, "Self-Supervised Learning for Image Classification with Limited Labeled
Data", Umeå University, 2025 (`../shared/papers/000_87c06e43790a93f7.txt`), Table 1:
validation accuracy (%) of MobileNetV2 (ImageNet initialisation, SimCLR-pretrained
on CIFAR-10) fine-tuned on a fraction of the labels, and of the supervised baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# Table 1 of the report: label fraction -> accuracy (%) of the SimCLR-pretrained model.
TABLE_1 = {0.01: 66.76, 0.05: 80.12, 0.1: 82.93, 0.2: 86.45, 0.3: 87.81, 0.5: 89.62, 1.0: 92.01}
# Table 1, last row: "100% (Supervised only)".
SUPERVISED_100 = 91.19


def paper_accuracy(fraction: float, baseline: bool = False) -> float:
    """The report's accuracy (%) for a fraction (NaN where it has none).

    Args:
        fraction: the label fraction.
        baseline: the supervised baseline's number (the report has one, at 100 %)
            instead of the SimCLR-pretrained model's.

    Example:

    >>> paper_accuracy(0.2), paper_accuracy(1.0, baseline=True)
    (86.45, 91.19)
    """
    if baseline:
        return SUPERVISED_100 if math.isclose(fraction, 1.0) else math.nan
    for known, accuracy in TABLE_1.items():
        if math.isclose(fraction, known):
            return accuracy
    return math.nan


def row_label(fraction: float, baseline: bool = False) -> str:
    """A stage's label: "1%", "100%", "100% (no pretraining)"."""
    return f"{fraction * 100:g}%" + (" (no pretraining)" if baseline else "")


def comparison_rows(metrics: Sequence[Mapping]) -> list[dict]:
    """One row per fine-tuning stage, ours beside the paper's, from the `metrics.json` contents.

    Args:
        metrics: dicts with `variant`, `fraction`, `baseline` (bool: trained without
            pretraining), `accuracy` (in [0, 1]), `labels_used`, `top_3_accuracy`,
            `best_epoch`, `epochs_run`, `seconds`.

    Returns:
        One dict per stage, pretrained rows by fraction and then the baseline
        rows, with `accuracy`, `paper` and `difference` in percent (difference =
        ours - paper, NaN where the paper has no number).
    """
    rows = []
    ordered = sorted(metrics, key=lambda m: (m["variant"], m["baseline"], m["fraction"]))
    for m in ordered:
        ours = 100 * m["accuracy"]
        paper = paper_accuracy(m["fraction"], m["baseline"])
        rows.append(
            {
                "variant": m["variant"],
                "labeled_data": row_label(m["fraction"], m["baseline"]),
                "fraction": m["fraction"],
                "baseline": m["baseline"],
                "labels_used": m["labels_used"],
                "accuracy": round(ours, 2),
                "paper": paper,
                "difference": round(ours - paper, 2),
                "top_3_accuracy": round(100 * m["top_3_accuracy"], 2),
                "best_epoch": m["best_epoch"],
                "epochs_run": m["epochs_run"],
                "seconds": m["seconds"],
            }
        )
    return rows


TABLE_HEADER = (
    "| Labeled data | Ours, pretrained (%) | Ours, no pretraining (%) | Gain (pp) "
    "| Paper, pretrained (%) | Paper, supervised (%) | Difference (pp) |"
)


def markdown_table(rows: Sequence[Mapping]) -> str:
    """Table 1's layout, with the baseline at each fraction beside the pretrained model.

    Gain = pretrained − no pretraining; Difference = ours pretrained − paper
    pretrained, in percentage points; "–" where a number does not exist.

    Example:

    >>> print(markdown_table([
    ...     {"fraction": 0.01, "baseline": False, "accuracy": 60.0},
    ...     {"fraction": 0.01, "baseline": True, "accuracy": 40.0},
    ... ]))
    | Labeled data | Ours, pretrained (%) | Ours, no pretraining (%) | Gain (pp) | Paper, pretrained (%) | Paper, supervised (%) | Difference (pp) |
    | --- | ---: | ---: | ---: | ---: | ---: | ---: |
    | 1% | 60.00 | 40.00 | 20.00 | 66.76 | – | -6.76 |
    """
    lines = [TABLE_HEADER, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for fraction in sorted({row["fraction"] for row in rows}):
        ours = {row["baseline"]: row["accuracy"] for row in rows if row["fraction"] == fraction}
        pretrained, scratch = ours.get(False, math.nan), ours.get(True, math.nan)
        paper = paper_accuracy(fraction)
        cells = [
            pretrained,
            scratch,
            pretrained - scratch,
            paper,
            paper_accuracy(fraction, baseline=True),
            pretrained - paper,
        ]
        lines.append(f"| {row_label(fraction)} | {' | '.join(map(_number, cells))} |")
    return "\n".join(lines)


def _number(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"
