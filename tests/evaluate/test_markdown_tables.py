"""`markdown_table`: label columns, then numbers with two decimals; gaps as an en dash."""

import math

from keras_ssl.evaluate import markdown_table


def test_labels_then_right_aligned_numbers_with_two_decimals():
    table = markdown_table(
        ["Variant", "Labeled data", "Test (%)", "Paper (%)"],
        [["random", "10%", 61.234, 60], ["imagenet", "100%", 0.005, math.nan]],
        text_columns=2,
    )
    assert table.splitlines() == [
        "| Variant | Labeled data | Test (%) | Paper (%) |",
        "| --- | --- | ---: | ---: |",
        "| random | 10% | 61.23 | 60.00 |",
        "| imagenet | 100% | 0.01 | – |",
    ]


def test_none_is_a_gap_strings_stay_and_an_empty_table_keeps_its_header():
    table = markdown_table(["a", "b"], [["x", None], ["y", "0.1234 (paper 0.5)"]])
    assert table.splitlines()[2:] == ["| x | – |", "| y | 0.1234 (paper 0.5) |"]
    empty = markdown_table(["Labels", "Accuracy (%)"], [])
    assert empty == "| Labels | Accuracy (%) |\n| --- | ---: |"
