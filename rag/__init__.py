"""kutip: question answering over news articles, citing the exact sentences.

from rag import ask
answer = ask("Berapa kontainer senjata yang dikirim Korea Utara ke Rusia?")
print(answer.text)            # "... lebih dari 13.000 kontainer [1]."
answer.citations[0].sentence  # the exact sentence [1] refers to
"""

from .errors import BackendUnavailableError, KutipError, QuestionError
from .qa import QA, ask, stream
from .schema import Answer, Chosen, Citation, Retrieved, Source, StreamEvent, Timings

__all__ = [
    "QA",
    "Answer",
    "BackendUnavailableError",
    "Chosen",
    "Citation",
    "KutipError",
    "QuestionError",
    "Retrieved",
    "Source",
    "StreamEvent",
    "Timings",
    "ask",
    "stream",
]
