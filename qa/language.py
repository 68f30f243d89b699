"""Is a question written in another language than English?

The embedding model and the answer selector read English only, so a question in Spanish or
Russian is refused with "The corpus does not answer this", which misleads: the corpus may well
answer it in English. When the answerer refuses anyway and the question is clearly in another
language, the refusal says so (``Answer.explain["language"]``). It never turns an answer into
a refusal. ``py3langid`` (a small character n-gram model shipped in the package, read from
``.npz``) names the language; the gate is strict because a false "this is not English" on an
English question would be worse than none: the model must be confident and the question must
have almost no English function words. Measured by ``bench/language.py``.
"""

from __future__ import annotations

import functools
import re

# Languages a user of a space-law corpus is likely to write in: the UN's six and the larger
# languages of the space-faring States. Fewer candidates, fewer odd guesses ("Hart 2007": Dutch).
LANGUAGES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ru": "Russian",
    "zh": "Chinese",
    "ar": "Arabic",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "pl": "Polish",
    "nl": "Dutch",
    "uk": "Ukrainian",
    "ja": "Japanese",
    "ko": "Korean",
    "tr": "Turkish",
}
MIN_PROBABILITY = 0.9
MIN_WORDS = 3
# English words that almost every English question has; a question in another language has
# almost none of them (a few, "was", "die", "in", are words there too).
_ENGLISH_WORDS = (
    "a an the of to in on at by for from with about as into over under between is are was were be been "
    "do does did can could may might must shall should will would has have had what who whom whose "
    "which when where why how whether if or and not no than that this these those it its there their "
    "they he she his her we our you your i my me any all some"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # Japanese, Chinese, Korean


def language_hint(language: str) -> str:
    """What a refusal says about a question in another language."""
    return f"The question looks like {language}: the models here read English only, so ask it in English."


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def other_language(question: str) -> str | None:
    """The name of the language ``question`` is written in, when that is clearly not English;
    else None (English, or too short or too mixed to tell: "Kessler syndrome", "COPUOS")."""
    words = _WORD.findall(question.lower())
    if len(words) < MIN_WORDS and not _UNSPACED.search(question):
        return None
    if sum(w in _ENGLISH for w in words) > 0.2 * len(words):
        return None
    code, probability = _identifier().classify(question)
    if code == "en" or probability < MIN_PROBABILITY:
        return None
    return LANGUAGES[code]
