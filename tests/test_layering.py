"""The package's layers: imports point down, and each layer keeps clear of what it must not use.

Layers, bottom first (a module may import its own layer and those below):
  base      timbre_jax, errors, progress, figures, cli
  dsp       timbre_jax.dsp
  corpus    timbre_jax.corpus
  model     timbre_jax.model
  analysis  timbre_jax.analysis
  training  timbre_jax.training (the export of a shipped model uses the analysis)
  synth     timbre_jax.synth
  evaluation timbre_jax.evaluation (renders through the synth, judges by pYIN)
  commands  the `python -m` entry points: timbre_jax.{train,embed,mesh,render,pretrained} and
            every __main__
Only training and its commands (`train`, and `pretrained`, which exports a run with its test
MSE) import `timbre_jax.training`: the analysis, the synth and the other commands take a
trained model from `timbre_jax.model`. The static checks read every import statement,
function-level ones included; the slow ones import each module in a clean interpreter and
look at what third-party packages it loaded.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "timbre_jax"
LAYERS = ["base", "dsp", "corpus", "model", "analysis", "training", "synth", "evaluation",
          "commands"]  # fmt: skip
COMMANDS = {"train", "embed", "mesh", "render", "pretrained"}
NEVER = {"torch", "tensorflow"}
TRAINING_ONLY = {"flax", "optax", "orbax"}
QT = {"PySide6", "PyQt5", "PyQt6", "pyqtgraph"}
OPENS_THE_PANEL = {"timbre_jax.synth.panel", "timbre_jax.synth.pad", "timbre_jax.synth.__main__"}
NOT_IN_THE_SYNTH = {"optax", "matplotlib"}
TRAINING_COMMANDS = {"timbre_jax.train", "timbre_jax.pretrained"}


def module_names(package: Path) -> dict[str, Path]:
    """{dotted module name: file} of every module under `package`."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[-1] == "__main__" or (len(parts) == 2 and parts[1] in COMMANDS):
        return "commands"
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "base"


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """What a file imports: package modules by their full name, others by top-level package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                      else node.module for a in node.names}  # fmt: skip
    return {name if name in modules else name.split(".")[0] for name in found}


def upward_imports(package: Path) -> list[str]:
    """`importer -> imported` for each import of a package module from a higher layer."""
    modules = module_names(package)
    found = []
    for name, path in modules.items():
        for target in sorted(imports_of(path, modules) & modules.keys()):
            if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(name)):
                found.append(f"{name} ({layer_of(name)}) -> {target} ({layer_of(target)})")
    return found


def reachable_imports(package: Path, start: str) -> set[str]:
    """Every package module and third-party package `start` can import, through the package."""
    modules = module_names(package)
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in modules:
            parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
            todo += [*imports_of(modules[name], modules), *(p for p in parents if p in modules)]
    return seen


def test_imports_point_down_the_layers():
    assert upward_imports(PACKAGE) == []


def test_an_upward_import_is_caught(tmp_path):
    package = tmp_path / "timbre_jax"
    for folder in ("model", "analysis"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "analysis" / "plots.py").write_text("import numpy\n")
    (package / "model" / "run.py").write_text(
        "def f():\n    from timbre_jax.analysis import plots\n"
    )
    assert upward_imports(package) == [
        "timbre_jax.model.run (model) -> timbre_jax.analysis.plots (analysis)"
    ]


def test_only_training_and_its_commands_import_training():
    modules = module_names(PACKAGE)
    above = [m for m in modules if LAYERS.index(layer_of(m)) > LAYERS.index("training")]
    found = [f"{m} -> {t}" for m in sorted(set(above) - TRAINING_COMMANDS)
             for t in sorted(imports_of(modules[m], modules))
             if t.startswith("timbre_jax.training")]  # fmt: skip
    assert found == []


SYNTH = [m for m in module_names(PACKAGE) if layer_of(m) == "synth"] + [
    "timbre_jax.synth.__main__",
    "timbre_jax.render",
]


@pytest.mark.parametrize("module", SYNTH)
def test_the_synth_never_reaches_training_optax_or_matplotlib(module):
    reached = reachable_imports(PACKAGE, module)
    assert not reached & NOT_IN_THE_SYNTH
    assert not [m for m in reached if m.startswith("timbre_jax.training")]


@pytest.mark.parametrize("module", sorted(module_names(PACKAGE).keys() - OPENS_THE_PANEL))
def test_only_the_panel_imports_qt(module):
    assert not reachable_imports(PACKAGE, module) & (QT | NEVER)


def imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in out.stdout.split()}


BELOW_THE_MODEL = [m for m in module_names(PACKAGE) if layer_of(m) in ("base", "dsp", "corpus")]


@pytest.mark.slow
@pytest.mark.parametrize("module", BELOW_THE_MODEL)
def test_signal_and_corpus_layers_load_no_training_or_qt(module):
    assert not imported_after(module) & (NEVER | TRAINING_ONLY | QT)


@pytest.mark.slow
@pytest.mark.parametrize("module", SYNTH)
def test_the_synth_loads_no_optax_or_matplotlib(module):
    loaded = imported_after(module)
    assert not loaded & ({"optax", "matplotlib"} | NEVER)
    assert module in OPENS_THE_PANEL or not loaded & QT
