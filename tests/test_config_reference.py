"""README.md's config reference is the table generated from configs/default.py, every field once."""

from pathlib import Path

from configs import default
from timbre_jax.training.config_reference import config_reference

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    assert text.count(START) == 1 and text.count(END) == 1, "README.md: one pair of markers"
    return text.split(START)[1].split(END)[0].strip()


def flat_fields(tree: dict, prefix: str = "") -> list[str]:
    """{"model": {"kind": ...}} -> ["model.kind"]."""
    fields = []
    for key, value in tree.items():
        if isinstance(value, dict):
            fields += flat_fields(value, f"{prefix}{key}.")
        else:
            fields.append(f"{prefix}{key}")
    return fields


def test_readme_holds_the_generated_table():
    generated = config_reference(ROOT / "configs" / "default.py").strip()
    assert readme_table() == generated, (
        "README.md's config reference is stale: replace the text between its markers with "
        "the output of `python -m timbre_jax.training.config_reference`"
    )


def test_every_field_of_the_default_config_has_one_row():
    rows = [line.split("|")[1].strip().strip("`") for line in readme_table().splitlines()[2:]]
    fields = flat_fields(default.get_config().to_dict())
    assert sorted(rows) == sorted(fields)
    assert {field: rows.count(field) for field in fields} == dict.fromkeys(fields, 1)


def test_a_comment_above_a_field_is_its_meaning(tmp_path):
    config = tmp_path / "config.py"
    config.write_text(
        "def get_config(arg=None):\n"
        "    config = ml_collections.ConfigDict()\n"
        "    config.model = ml_collections.ConfigDict()\n"
        "    config.model.width = 3  # units | per layer\n"
        "    # two lines\n"
        "    # of meaning\n"
        "    config.model.depth = 2\n"
        "    if arg == 'smoke':\n"
        "        config.model.depth = 1  # not a default\n"
        "    return config\n"
    )
    assert config_reference(config).splitlines()[2:] == [
        "| `model.width` | `3` | units \\| per layer |",
        "| `model.depth` | `2` | two lines of meaning |",
    ]
