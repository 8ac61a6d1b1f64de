"""Handoff: the centers directory, how a case finds its center, and the case itself."""

from ._cases import (
    TRANSITIONS,
    Case,
    CaseStatus,
    IllegalTransition,
    NewCase,
    case_number,
    check_transition,
)
from ._centers import (
    DEFAULT_CENTERS_PATH,
    CentersError,
    check_centers,
    default_categories,
    load_centers,
)
from ._directory import CenterDirectory
from ._model import LEVELS, Center, Contact, PlaceMatch, Region, Route

__all__ = [
    "DEFAULT_CENTERS_PATH",
    "LEVELS",
    "TRANSITIONS",
    "Case",
    "CaseStatus",
    "Center",
    "CenterDirectory",
    "CentersError",
    "Contact",
    "IllegalTransition",
    "NewCase",
    "PlaceMatch",
    "Region",
    "Route",
    "case_number",
    "check_centers",
    "check_transition",
    "default_categories",
    "load_centers",
]
