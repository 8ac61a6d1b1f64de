"""Channel-neutral resident dialogs: the message model, the engine, the flows."""

from ._engine import Engine, Sent
from ._flow import FaqLookup, Services, Step, Turn
from ._model import Attachment, Choice, Inbound, InboundKind, Location, Outbound
from ._texts import DEFAULT_TEXTS_PATH, Texts

__all__ = [
    "DEFAULT_TEXTS_PATH",
    "Attachment",
    "Choice",
    "Engine",
    "FaqLookup",
    "Inbound",
    "InboundKind",
    "Location",
    "Outbound",
    "Sent",
    "Services",
    "Step",
    "Texts",
    "Turn",
]
