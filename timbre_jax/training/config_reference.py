"""The config reference: a Markdown table of `configs/default.py`'s fields, from its comments.

README.md holds the table between `<!-- config-reference:start -->` and
`<!-- config-reference:end -->`; `tests/test_config_reference.py` fails when the two differ.
Regenerate it with `python -m timbre_jax.training.config_reference`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PIPE = "\\|"  # a literal | inside a Markdown table cell


def config_reference(path: str | Path) -> str:
    """A Markdown table `| field | default | meaning |` of the fields set in `get_config`.

    Each top-level `config.X = VALUE` of `get_config`'s body is a row (nested ConfigDicts and
    the `if arg == ...` blocks are skipped); the meaning is the line's own comment or, where it
    has none, the comment-only lines just above it.
    """
    source = Path(path).read_text()
    lines = source.splitlines()
    function = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == "get_config"
    )
    rows = ["| field | default | meaning |", "|---|---|---|"]
    for node in function.body:
        target = ast.unparse(node.targets[0]) if isinstance(node, ast.Assign) else ""
        if not target.startswith("config.") or ast.unparse(node.value).endswith("ConfigDict()"):
            continue
        comment = lines[node.end_lineno - 1][node.end_col_offset :].strip()
        if comment.startswith("#"):
            meaning = [comment]
        else:
            first = node.lineno - 1  # the comment-only lines just above the assignment
            while first > 0 and lines[first - 1].strip().startswith("#"):
                first -= 1
            meaning = lines[first : node.lineno - 1]
        text = " ".join(line.strip().lstrip("#").strip() for line in meaning)
        default = ast.get_source_segment(source, node.value)
        rows.append(f"| `{target[len('config.') :]}` | `{default}` | {text.replace('|', PIPE)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    print(config_reference(root / "configs" / "default.py"))
