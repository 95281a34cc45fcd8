"""Write-then-rename output folders, so that a failed command leaves nothing half-written."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from timbre_jax.errors import ParameterError


def refuse_existing(out_dir: str | Path, *, overwrite: bool) -> None:
    """Raises `ParameterError` if `out_dir` exists and `overwrite` is false."""
    if Path(out_dir).exists() and not overwrite:
        raise ParameterError(
            f"output folder {str(out_dir)!r} exists; pass --overwrite to replace it"
        )


def check_writable(out_dir: str | Path) -> None:
    """Raises `ParameterError` unless `out_dir` could be made: its nearest existing ancestor
    is a folder this process may write into. Checked before any work; makes nothing."""
    ancestor = Path(out_dir).absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    try:  # a folder made and removed at once: what permissions alone do not tell (root, /proc)
        os.rmdir(tempfile.mkdtemp(prefix=".write-check.", dir=ancestor))
    except OSError as err:
        raise ParameterError(
            f"cannot write {str(out_dir)!r}: {str(ancestor)!r} is not a "
            f"folder this process may write into ({err.strerror})"
        ) from err


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | Path, *, overwrite: bool) -> Iterator[Path]:
    """Yields a temporary sibling folder that becomes `out_dir` only if the block succeeds.

    Raises:
      ParameterError: `out_dir` exists and `overwrite` is false.
    """
    refuse_existing(out_dir, overwrite=overwrite)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
