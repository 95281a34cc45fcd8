"""Every command-line mistake gets one line: `error: ...` on stderr, exit status 2."""

import importlib
from pathlib import Path

import pytest

from timbre_jax import train
from timbre_jax.cli import Interrupted, command

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config", "configs/nope.py"], "config file 'configs/nope.py' not found"),
        (["--config", "configs/default.txt"], "--config must be a file.py or file.py:ARG"),
        (["--config", "configs/paper.py:no_such_row"],
         "unknown row 'no_such_row'; rows: table1_no_append, table1_diff"),
        (["--config", "configs/paper.py"], "configs/paper.py takes a row"),
        (["--config", "configs/default.py:smokey"], "takes no argument or 'smoke', got 'smokey'"),
        (["--config", "configs/default.py", "--config.train.batchsize=10"],
         "unknown config field 'train.batchsize'; did you mean 'train.batch_size'?"),
        (["--config", "configs/default.py", "--config.model.dropout=0.5"],
         "unknown config field 'model.dropout'; fields: corpus, model.augment"),
        (["--config", "configs/default.py", "--config.train.epochs=ten"],
         "config field 'train.epochs' takes an integer, got 'ten'"),
        (["--config", "configs/default.py", "--config.train.learning_rate", "fast"],
         "config field 'train.learning_rate' takes a number, got 'fast'"),
        (["--config", "configs/default.py", "--config.model.chroma_skip=maybe"],
         "config field 'model.chroma_skip' takes true or false, got 'maybe'"),
        (["--config", "configs/default.py", "--config.model.latent_dim=0"],
         "model.latent_dim must be a positive integer, got 0"),
        (["--config", "configs/default.py", "--config.corpus=/nowhere"],
         "'/nowhere' is not a corpus folder"),
        (["--config", "configs/default.py", "--config.train.epochs"], "needs a value"),
        (["--config", "configs/default.py", "--bogus"], "unrecognised argument '--bogus'"),
    ],
)  # fmt: skip
def test_config_mistakes_get_one_line(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert train.main([*args, "--workdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "run").exists()


def test_overrides_take_the_type_of_their_field(tiny_corpus, tmp_path, monkeypatch):
    from timbre_jax.training.config import apply_overrides, load_config

    monkeypatch.chdir(tmp_path)  # a config file in a package folder loads from anywhere
    config = load_config(str(ROOT / "configs" / "paper.py:table3_lrelu"))
    overrides = ["--config.train.epochs=7", "--config.model.chroma_skip", "True",
                 "--config.train.learning_rate=1e-3", f"--config.corpus={tiny_corpus}"]  # fmt: skip
    apply_overrides(config, overrides)
    assert (config.train.epochs, config.model.chroma_skip) == (7, True)
    assert config.train.learning_rate == 1e-3 and config.corpus == str(tiny_corpus)
    assert config.model.bottleneck == "leaky_relu"


COMMANDS = {
    "timbre_jax.train": ["--config"],
    "timbre_jax.corpus.__main__": ["render", "--preset"],
    "timbre_jax.embed": ["--split", "all"],
    "timbre_jax.mesh": ["--points", "many"],
    "timbre_jax.render": ["--seconds", "4"],
    "timbre_jax.pretrained": ["export", "--name", "a/b"],
    "timbre_jax.synth.__main__": ["--model"],
}


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_argument_mistakes_get_one_line(module, capsys):
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main(COMMANDS[module])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "raised, line",
    [(KeyboardInterrupt(), "interrupted"),
     (Interrupted("run the same command to resume after epoch 3"),
      "interrupted: run the same command to resume after epoch 3")],
)  # fmt: skip
def test_ctrl_c_is_one_line_and_exit_130(raised, line, capsys):
    @command
    def main(argv):
        raise raised

    assert main([]) == 130
    assert capsys.readouterr().err.strip() == line


def test_an_interrupt_inside_compiled_code_is_still_one_line(capsys):
    @command
    def main(argv):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("<built-in function> returned a result with an exception set")  # noqa: B904

    assert main([]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_a_system_error_of_its_own_is_not_taken_for_an_interrupt():
    @command
    def main(argv):
        raise SystemError("a real fault")

    with pytest.raises(SystemError, match="a real fault"):
        main([])
