"""Handoff: the centers directory, how a case finds its center, and the case service."""

from ._cases import (
    OUTCOME_LABELS,
    OUTCOMES,
    RATINGS,
    TRANSITIONS,
    WALK_IN,
    Case,
    CaseDraft,
    CaseEvent,
    CaseMessage,
    CaseStatus,
    IllegalTransition,
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
from ._deadlines import DeadlinePolicy, Level, NoHigherCenter
from ._directory import CenterDirectory
from ._model import LEVELS, Center, Contact, PlaceMatch, Region, Route
from ._notices import Notices, ResidentNotices, followup_payload, rating_payload
from ._ports import CaseFeed, CaseReads, CaseStore, CaseWrites, case_topic, center_topic
from ._scheduler import DeadlineReport
from ._service import (
    OVERDUE_REASON,
    CaseConflict,
    CaseNotFound,
    CaseService,
    resident_destination,
)

__all__ = [
    "DEFAULT_CENTERS_PATH",
    "LEVELS",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "OVERDUE_REASON",
    "RATINGS",
    "TRANSITIONS",
    "WALK_IN",
    "Case",
    "CaseConflict",
    "CaseDraft",
    "CaseEvent",
    "CaseFeed",
    "CaseMessage",
    "CaseNotFound",
    "CaseReads",
    "CaseService",
    "CaseStatus",
    "CaseStore",
    "CaseWrites",
    "Center",
    "CenterDirectory",
    "CentersError",
    "Contact",
    "DeadlinePolicy",
    "DeadlineReport",
    "IllegalTransition",
    "Level",
    "NoHigherCenter",
    "Notices",
    "PlaceMatch",
    "Region",
    "ResidentNotices",
    "Route",
    "case_number",
    "case_topic",
    "center_topic",
    "check_centers",
    "check_transition",
    "default_categories",
    "followup_payload",
    "load_centers",
    "rating_payload",
    "resident_destination",
]
