"""The Umeå report's Table 1, and ours beside it.

Nilsson, "Self-Supervised Learning for Image Classification with Limited Labeled
Data", Umeå University, 2025 (`../shared/papers/000_87c06e43790a93f7.txt`), Table 1:
validation accuracy (%) of MobileNetV2 (ImageNet initialisation, SimCLR-pretrained
on CIFAR-10) fine-tuned on a fraction of the labels, and of the supervised baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# Table 1 of the report: label fraction -> accuracy (%).
TABLE_1 = {0.01: 66.76, 0.05: 80.12, 0.1: 82.93, 0.2: 86.45, 0.3: 87.81, 0.5: 89.62, 1.0: 92.01}
# Table 1, last row: "100% (Supervised only)".
SUPERVISED_100 = 91.19

SUPERVISED_ROW = "100% (Supervised only)"


def paper_accuracy(fraction: float, supervised: bool = False) -> float:
    """The report's accuracy (%) for a fraction (NaN where it has none).

    Example:

    >>> paper_accuracy(0.2), paper_accuracy(1.0, supervised=True)
    (86.45, 91.19)
    """
    if supervised:
        return SUPERVISED_100 if math.isclose(fraction, 1.0) else math.nan
    for known, accuracy in TABLE_1.items():
        if math.isclose(fraction, known):
            return accuracy
    return math.nan


def row_label(fraction: float, supervised: bool = False) -> str:
    """Table 1's first column: "1%", "100%", "100% (Supervised only)"."""
    if supervised:
        return f"{fraction * 100:g}% (Supervised only)"
    return f"{fraction * 100:g}%"


def comparison_rows(metrics: Sequence[Mapping]) -> list[dict]:
    """Table 1 rows, ours beside the paper's, from the stages' `metrics.json` contents.

    Args:
        metrics: dicts with `variant`, `fraction`, `supervised` (bool), `accuracy`
            (in [0, 1]), `labels_used`, `top_3_accuracy`, `best_epoch`,
            `epochs_run`, `seconds`.

    Returns:
        One dict per stage, fine-tuning rows by fraction and then the supervised
        row, with `accuracy`, `paper` and `difference` in percent (difference =
        ours - paper, NaN where the paper has no number).
    """
    rows = []
    ordered = sorted(metrics, key=lambda m: (m["variant"], m["supervised"], m["fraction"]))
    for m in ordered:
        ours = 100 * m["accuracy"]
        paper = paper_accuracy(m["fraction"], m["supervised"])
        rows.append(
            {
                "variant": m["variant"],
                "labeled_data": row_label(m["fraction"], m["supervised"]),
                "fraction": m["fraction"],
                "supervised": m["supervised"],
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


def markdown_table(rows: Sequence[Mapping]) -> str:
    """Table 1's layout: Labeled data | Accuracy (%) ours | paper | difference.

    Example:

    >>> print(markdown_table([{"labeled_data": "1%", "accuracy": 60.0, "paper": 66.76,
    ...                        "difference": -6.76}]))
    | Labeled data | Accuracy (%) ours | Accuracy (%) paper | Difference (pp) |
    | --- | ---: | ---: | ---: |
    | 1% | 60.00 | 66.76 | -6.76 |
    """
    lines = [
        "| Labeled data | Accuracy (%) ours | Accuracy (%) paper | Difference (pp) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        cells = [_number(row[key]) for key in ("accuracy", "paper", "difference")]
        lines.append(f"| {row['labeled_data']} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _number(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"
