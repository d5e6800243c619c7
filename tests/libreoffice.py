"""Test helper: convert a document with LibreOffice headless, and skip cleanly where it is absent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice")

needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) absent")


def convert(document: Path, outdir: Path, to: str = "pdf") -> Path:
    """Convert `document` into `outdir` with a private profile; fail the test on any error."""
    profile = outdir / "lo-profile"
    result = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", to, "--outdir", str(outdir), str(document)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = outdir / f"{Path(document).stem}.{to}"
    assert out.is_file(), result.stdout + result.stderr
    return out
