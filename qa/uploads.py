"""Save uploaded files into the corpus folder: plain safe names, each file checked as readable first.

Uploads come with names and bytes chosen by someone else, so a name is cut down to
a plain file name (folder parts are dropped, never followed), a link in the corpus is
never written through, and a file the indexer could not read is refused here instead
of sitting in the corpus. ``qa.engine.add_documents`` saves and re-indexes in one call.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from qa.errors import QAError, UnreadableDocumentError
from qa.ingest import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES, corpus_files, doc_id_for, read_document


def corpus_file(corpus: Path | str, name: str) -> Path:
    """``corpus/name`` itself (not what a link there points to), if its folder is inside the corpus.

    Raises:
        QAError: ``name`` leads outside the corpus folder (``..``, an absolute path, a linked folder).
    """
    root = Path(corpus).resolve()
    target = root / name
    if not target.parent.resolve().is_relative_to(root) or target.resolve(strict=False) == root:
        raise QAError(f"{name!r} would be written outside the corpus folder; use a plain file name")
    return target


@dataclass(frozen=True)
class UploadResult:
    """What ``save_uploads`` did: file names written into the corpus, (name, reason) refused,
    and (name as uploaded, name saved) where the two differ."""

    saved: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]
    renamed: tuple[tuple[str, str], ...] = ()


def safe_upload_name(name: str) -> str:
    """The plain file name an upload is saved under; folder parts are dropped, never followed.

    Raises:
        QAError: no usable name is left, the name is hidden or reserved, or the type is unsupported.
    """
    if any(ord(ch) < 32 for ch in name):
        raise QAError("the file name contains control characters; rename the file")
    # PureWindowsPath splits on both "/" and "\\" and drops drive letters, so
    # "../../x.md", "..\\x.md" and "C:x.md" all come down to "x.md".
    base = PureWindowsPath(name).name.strip()
    if not base or base in (".", ".."):
        raise QAError("the upload has no file name; rename the file")
    if base.startswith("."):
        raise QAError(f"{base}: hidden files are not indexed; rename the file without the leading dot")
    if base == "README.md":  # qa.ingest skips these by name
        raise QAError("README.md files are not indexed (they describe the folder); rename the file")
    suffix = Path(base).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise QAError(f"{base}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    return base


def place_checked(
    target: Path, root: Path, fill: Callable[[Path], object], name: str, *, prefix: str = ".upload-"
) -> None:
    """Put a file at ``target`` in the corpus ``root`` only if the indexer can read it.

    ``fill`` writes the content to a hidden temporary name next to ``target`` (the indexer
    ignores hidden files); it is read back with ``qa.ingest.read_document`` and only then
    renamed over ``target``, so an unreadable file never replaces a good one and a symbolic
    link at ``target`` is replaced, never written through.

    Raises:
        UnreadableDocumentError: the reason, naming the file ``name``; ``target`` is untouched.
    """
    tmp = target.with_name(f"{prefix}{uuid.uuid4().hex}{target.suffix}")
    try:
        fill(tmp)
        try:
            read_document(tmp, root.resolve())  # tmp is absolute (corpus_file resolves)
        except UnreadableDocumentError as exc:
            raise UnreadableDocumentError(str(exc).replace(tmp.name, name)) from None
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


class CorpusIds:
    """The document ids of a corpus folder's files, read once per add. Citations, ``qa show``
    and ``qa remove`` name documents by id (the path without its extension), so a file that
    would share one with another ("report.html" and "report.txt") is refused before it is copied."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.files: dict[str, set[Path]] = {}
        for f in corpus_files(self.root):
            if f.suffix.lower() in SUPPORTED_SUFFIXES:
                self.add(f)

    def add(self, target: Path) -> None:
        self.files.setdefault(doc_id_for(target, self.root), set()).add(target)

    def clash(self, target: Path, name: str) -> str | None:
        """Why ``target`` (saved as ``name``) cannot be added, or None when its id is free."""
        doc_id = doc_id_for(target, self.root)
        other = next((f for f in sorted(self.files.get(doc_id, ())) if f != target), None)
        if other is None:
            return None
        return (
            f"{other.relative_to(self.root).as_posix()} is already in the corpus and {name} would get the "
            f"same document id {doc_id!r} (ids are file names without their extension); rename the file"
        )


def save_uploads(files: Iterable[tuple[str, bytes]], corpus: Path | str, *, replace: bool = False) -> UploadResult:
    """Write uploaded files (name, content) into the corpus folder, each checked as readable first.

    Each file is written to a hidden temporary name (ignored by the indexer),
    read back with ``qa.ingest.read_document`` so an empty, binary or corrupt
    file is refused here instead of sitting in the corpus, then renamed into place.

    Args:
        replace: Let an upload replace a corpus file of the same name with other content
            (refused otherwise, as ``qa add`` refuses it without ``--replace``).
    """
    root = Path(corpus)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    saved: list[str] = []
    rejected: list[tuple[str, str]] = []
    renamed: list[tuple[str, str]] = []
    ids = CorpusIds(root)
    for name, data in files:
        try:
            base = safe_upload_name(name)
        except QAError as exc:
            rejected.append((name, str(exc)))
            continue
        if len(data) > DEFAULT_MAX_BYTES:
            rejected.append(
                (
                    name,
                    f"{len(data) / 2**20:.1f} MiB is over the {DEFAULT_MAX_BYTES / 2**20:g} MiB limit; split the file",
                )
            )
            continue
        target = root / base
        if target.is_symlink():
            # Writing would go through the link, possibly out of the corpus.
            rejected.append((name, f"{base} is a symbolic link in the corpus folder; remove the link first"))
            continue
        if target.parent != root or (target.exists() and not target.is_file()):
            rejected.append((name, f"{base} cannot be written in the corpus folder"))
            continue
        if clash := ids.clash(target, base):
            rejected.append((name, clash))
            continue
        if not replace and target.is_file() and target.read_bytes() != data:
            rejected.append(
                (
                    name,
                    f"a document named {base} is already in the corpus with other content; "
                    "choose to replace documents of the same name to replace it (the old version is then gone)",
                )
            )
            continue
        try:
            place_checked(target, root, lambda tmp, data=data: tmp.write_bytes(data), base)
        except UnreadableDocumentError as exc:
            rejected.append((name, str(exc)))
            continue
        saved.append(base)
        ids.add(target)
        if base != name:
            renamed.append((name, base))
    return UploadResult(tuple(saved), tuple(rejected), tuple(renamed))
