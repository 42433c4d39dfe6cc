"""Notebooks in git carry no outputs: `python tests/check_notebooks.py notebooks/*.ipynb`.

Run by `make lint`; exits 1 naming each notebook with outputs or execution counts, and
how to strip them.
"""

import json
import sys


def has_outputs(path) -> bool:
    """Whether any code cell of the notebook at `path` keeps outputs or an execution count."""
    with open(path, encoding="utf-8") as file:
        cells = json.load(file)["cells"]
    return any(c.get("outputs") or c.get("execution_count") is not None for c in cells)


def main(paths) -> int:
    dirty = [path for path in paths if has_outputs(path)]
    for path in dirty:
        print(
            f"{path}: outputs are committed; strip them with "
            f"`jupyter nbconvert --clear-output --inplace {path}`"
        )
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
