"""The FAQ: admin-edited legal questions and answers, and the matcher that finds them.

The dialog engine uses FaqService; the ``minshi faq`` commands use the rest.
"""

from faq._analyzer import Analysis, Analyzer
from faq._citations import format_basis, short_title
from faq._eval import EvalCase, EvalFileError, EvalReport, Metrics, evaluate, read_cases
from faq._laws import DEFAULT_LAW_DIR, CitationError, LawLibrary, parse_citation
from faq._loader import (
    DEFAULT_FAQ_DIR,
    Category,
    FaqData,
    check_faq,
    entry_files,
    faq_sources,
    load_faq,
    read_faq,
)
from faq._matcher import Matcher, Thresholds
from faq._model import Candidate, Citation, Decision, FaqEntry, FaqLoadError, MatchResult
from faq._normalize import normalize
from faq._service import FaqService, ReloadState
from faq._synonyms import Synonyms, read_synonyms

__all__ = [
    "DEFAULT_FAQ_DIR",
    "DEFAULT_LAW_DIR",
    "Analysis",
    "Analyzer",
    "Candidate",
    "Category",
    "Citation",
    "CitationError",
    "Decision",
    "EvalCase",
    "EvalFileError",
    "EvalReport",
    "FaqData",
    "FaqEntry",
    "FaqLoadError",
    "FaqService",
    "LawLibrary",
    "MatchResult",
    "Matcher",
    "Metrics",
    "ReloadState",
    "Synonyms",
    "Thresholds",
    "check_faq",
    "entry_files",
    "evaluate",
    "faq_sources",
    "format_basis",
    "load_faq",
    "normalize",
    "parse_citation",
    "read_cases",
    "read_faq",
    "read_synonyms",
    "short_title",
]
