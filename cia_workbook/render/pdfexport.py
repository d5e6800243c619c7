"""Rendering helper: the Word documents converted to PDF by LibreOffice, when it is installed.

LibreOffice runs headless with a user profile of its own in a temporary folder (so that it
neither touches nor waits for the user's open LibreOffice), bounded in time. Calibri is drawn
with Carlito, its metric-compatible twin (Debian/Ubuntu package fonts-crosextra-carlito), so
that the PDF pages break where the Word pages do.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_SECONDS = 300


class PdfError(Exception):
    """A French message for the officer: why the PDF could not be written."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(documents: list[Path], outdir: Path, timeout: float = TIMEOUT_SECONDS) -> list[Path]:
    """Write `<name>.pdf` in `outdir` for each document; the PDF paths, in order."""
    program = soffice()
    if program is None:
        raise PdfError(
            "LibreOffice n'est pas installé : les PDF ne sont pas écrits (les documents Word le sont). "
            "Installez LibreOffice (sous Debian ou Ubuntu : apt-get install libreoffice-writer-nogui "
            "fonts-crosextra-carlito) ou enregistrez les documents en PDF depuis Word."
        )
    if not documents:
        return []
    with tempfile.TemporaryDirectory(prefix="cia-workbook-libreoffice-") as profile:
        command = [
            program, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
            "--convert-to", "pdf", "--outdir", str(outdir), *(str(d) for d in documents),
        ]  # fmt: skip
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PdfError(
                f"LibreOffice n'a pas terminé la conversion en PDF en {int(timeout)} secondes : les PDF ne sont "
                "pas écrits. Relancez la commande ; si cela se reproduit, ouvrez les documents Word et "
                "enregistrez-les en PDF."
            ) from None
    pdfs = [Path(outdir) / f"{Path(d).stem}.pdf" for d in documents]
    missing = [p.name for p in pdfs if not p.is_file()]
    if result.returncode != 0 or missing:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PdfError(
            "LibreOffice n'a pas pu convertir en PDF : " + (", ".join(missing) or "documents")
            + (f" ({detail[-1]})" if detail else "") + ". Les documents Word sont écrits."
        )  # fmt: skip
    return pdfs
