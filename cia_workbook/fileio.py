"""Writing outputs safely: every file appears whole or not at all."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteError(OSError):
    """An output that could not be written: the system's error, about the output's final path
    (not its temporary name)."""

    def __init__(self, target: Path, exc: OSError):
        super().__init__(exc.errno, exc.strerror, str(target))
        self.target = Path(target)

    def __reduce__(self):  # sent back from a worker process as it is
        return (_write_error, (str(self.target), self.errno, self.strerror))


def _write_error(target: str, code: int | None, text: str | None) -> WriteError:
    return WriteError(Path(target), OSError(code, text))


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; move it into place only if the block succeeds.

    An interrupted run leaves the previous file (or none), never a half-written one; a write
    that fails (read-only folder, full disk, a name too long) raises `WriteError` naming
    `target`, and leaves no temporary file.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # The temporary name stays within the system's limit on a name (a target of 255 bytes
        # would otherwise get a longer one) and matches `runs.LEFTOVERS`, so that the next run
        # removes it when this one is killed.
        fd, tmp = tempfile.mkstemp(
            prefix=f".{fit_name(target.stem, TEMP_STEM_BYTES)}.",
            suffix=target.suffix + ".tmp",
            dir=target.parent,
        )
        os.close(fd)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(target, exc) from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; outputs are shared documents, so give them the usual mode.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    except WriteError:
        raise
    except Exception as exc:
        cause = _system_error(exc)
        if cause is None:
            raise
        raise WriteError(target, cause) from exc
    finally:
        try:
            tmp_path.unlink(missing_ok=True)
        except OSError:
            pass


def _system_error(exc: BaseException) -> OSError | None:
    """The system's error behind `exc`: itself, or the one a writing library wrapped (xlsxwriter's
    FileCreateError holds it as its argument, others chain it)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError):
            return exc
        inner = next((a for a in getattr(exc, "args", ()) if isinstance(a, OSError)), None)
        exc = inner or exc.__cause__ or exc.__context__
        seen += 1
    return None


# A name is at most 255 bytes on the usual file systems (NAME_MAX).
NAME_MAX = 255
TEMP_STEM_BYTES = 100


def fit_name(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, at a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def describe_os_error(exc: OSError, writing: bool = True) -> str:
    """What went wrong with a file, in French, and what to do about it."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        if not writing:
            return "droits insuffisants : donnez-vous le droit de lire ce fichier"
        return "droits insuffisants : donnez-vous le droit d'écrire dans ce dossier, ou travaillez dans une copie du dossier"
    if code == errno.EROFS:
        return "le support est en lecture seule : travaillez dans un dossier où vous pouvez écrire"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "le disque est plein : libérez de la place, puis relancez la commande"
    if code == errno.ENAMETOOLONG:
        return "le nom est trop long pour le système : raccourcissez le nom du fichier reçu"
    if code == errno.ENOENT:
        return "le fichier ou le dossier n'existe plus : il a été supprimé ou déplacé pendant la commande"
    if code == errno.EISDIR:
        return "un dossier porte ce nom : renommez-le"
    if code == errno.EIO:
        return "erreur d'entrée-sortie du disque : vérifiez le support"
    return f"erreur système n° {code} : vérifiez le dossier, puis relancez la commande"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(target: Path, writer: Callable[[Path], object]) -> Path:
    """Call `writer(tmp_path)` and move the result onto `target` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_text_atomic(target: Path, text: str) -> Path:
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
