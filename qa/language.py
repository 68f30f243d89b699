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
import threading

# The languages the identifier chooses among: those a user of a space-law corpus is likely to
# write in (the UN's six, the larger languages of the space-faring States and of Europe) and
# Latin. Fewer candidates, fewer odd guesses ("Hart 2007": Dutch).
LANGUAGES = {
    "en": "English",
    "la": "Latin",
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
    "el": "Greek",
    "he": "Hebrew",
    "hi": "Hindi",
    "bg": "Bulgarian",
    "be": "Belarusian",
    "cs": "Czech",
    "sk": "Slovak",
    "sl": "Slovene",
    "hr": "Croatian",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
    "hu": "Hungarian",
    "ro": "Romanian",
    "fa": "Persian",
    "ur": "Urdu",
    "gl": "Galician",
    "ca": "Catalan",
    "af": "Afrikaans",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "th": "Thai",
}
# Latin maxims ("cuius est solum eius est usque ad coelum") are part of English legal writing.
READ_AS_ENGLISH = frozenset({"en", "la"})
# The gate (bench/language.py): the identifier's probability, and the most English function
# words a question in another language may have; wider for one that ends in a question mark.
MIN_PROBABILITY, MAX_ENGLISH = 0.9, 0.2
MIN_PROBABILITY_ASKED, MAX_ENGLISH_ASKED = 0.85, 1 / 3
UNNAMED = "another language"
_LATIN_END = 0x24F  # the last code point of the Latin alphabets (Latin Extended-B)
MIN_WORDS = 3
MIN_UNSPACED = 4  # characters of Chinese, Japanese or Korean
# Without a question mark, a run of foreign words is more often a name typed on its own
# ("Agenzia Spaziale Italiana", "Declaración de Bogotá") than a question.
MIN_WORDS_UNASKED = 6
_QUESTION_MARK = re.compile(r"[?？؟;;]\s*$")
# English words that almost every English question or request has; a question in another
# language has almost none of them ("was", "die", "in" are words there too).
_REQUESTS = "explain define describe list compare summarize summarise tell give show name find"
_ENGLISH_WORDS = (
    "a an the of to in on at by for from with about as into over under between is are was were be been "
    "do does did can could may might must shall should will would has have had what who whom whose "
    "which when where why how whether if or and not no than that this these those it its there their "
    "they he she his her we our you your i my me any all some "
)
_ENGLISH = frozenset((_ENGLISH_WORDS + _REQUESTS).split())
# Words an English question or request opens with and no other language's does ("was", "die",
# "is" and "in" open German and Dutch questions too).
_OPENER_WORDS = "what which who whom whose when where why how does do did can could should would will are has have "
_ENGLISH_OPENERS = frozenset((_OPENER_WORDS + _REQUESTS).split())
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # Japanese, Chinese, Korean


def language_hint(language: str) -> str:
    """What a refusal says about a question in another language."""
    return f"The question seems to be in {language}: the models here read English only, so ask it in English."


_LOADING = threading.Lock()  # concurrent first questions (app sessions) load the model once


def _identifier():
    with _LOADING:
        return _load_identifier()


@functools.cache
def _load_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def other_language(question: str) -> str | None:
    """The name of the language ``question`` is written in, when that is clearly not English
    (``UNNAMED`` when only its script says so); else None: English, Latin, or too short, too
    mixed or too unlike a question to tell ("Kessler syndrome", "Agenzia Spaziale Italiana")."""
    words = _WORD.findall(question.lower())
    letters = [ch for ch in question if ch.isalpha()]
    # Chinese, Japanese and Korean are written without spaces, so they are counted in characters:
    # most of the letters, and a few of them ("・" or a name in an English question is not enough).
    cjk = len(_UNSPACED.findall(question))
    unspaced = cjk >= MIN_UNSPACED and cjk > 0.5 * len(letters)
    if not unspaced and (
        len(words) < MIN_WORDS or (len(words) < MIN_WORDS_UNASKED and not _QUESTION_MARK.search(question))
    ):
        return None
    if words and words[0] in _ENGLISH_OPENERS:  # "Which Bundesverfassungsgericht rulings …?"
        return None
    # A question mark makes it a question, so the gate can open wider: "Was ist der
    # Weltraumvertrag?" has "was" (1 word in 4), and short questions get lower probabilities.
    asked = bool(_QUESTION_MARK.search(question))
    if sum(w in _ENGLISH for w in words) > (MAX_ENGLISH_ASKED if asked else MAX_ENGLISH) * len(words):
        return None
    code, probability = _identifier().classify(question)
    if code in READ_AS_ENGLISH:
        return None
    if probability >= (MIN_PROBABILITY_ASKED if asked else MIN_PROBABILITY):
        return LANGUAGES[code]
    # Unsure which (Russian or Bulgarian?), but written in another script: not English.
    return UNNAMED if sum(ord(ch) > _LATIN_END for ch in letters) > 0.5 * len(letters) else None
