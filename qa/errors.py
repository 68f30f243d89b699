"""Domain errors. The library raises these; the CLI prints the message and exits 2."""


class QAError(Exception):
    """Base class: every message says what went wrong and how to fix it."""


class BadQuestionError(QAError):
    """The question is empty, too long, or otherwise unusable."""


class CorpusError(QAError):
    """The corpus folder is missing, empty, or holds nothing indexable."""


class UnreadableDocumentError(QAError):
    """One file could not be read as text (binary, bad encoding, corrupt PDF, ...)."""


class IndexNotFoundError(QAError):
    """No index has been built in the index folder yet."""


class IndexMismatchError(QAError):
    """The index on disk was built with other settings, or its files are corrupt."""


class IndexLockedError(QAError):
    """Another process is writing the index right now."""


class IndexOutOfDateError(QAError):
    """The corpus folder changed (files were removed) but the index could not be updated."""
