"""Offline extractive question answering over a document corpus, with verifiable citations."""

from qa.engine import Engine, build
from qa.errors import QAError
from qa.types import Answer, Citation, Document, Reference

__all__ = ["Answer", "Citation", "Document", "Engine", "QAError", "Reference", "build"]
