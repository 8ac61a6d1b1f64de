"""Channel-neutral resident dialogs: the message model, the engine, the flows."""

from common.messages import Attachment, Choice, Inbound, InboundKind, Location, Outbound

from ._engine import Engine
from ._flow import FaqLookup, Services, Step, Turn
from ._ports import DialogStore, FaqMiss, Sent, StoredMessage, TurnWrites
from ._texts import DEFAULT_TEXTS_PATH, Texts

__all__ = [
    "DEFAULT_TEXTS_PATH",
    "Attachment",
    "Choice",
    "DialogStore",
    "Engine",
    "FaqLookup",
    "FaqMiss",
    "Inbound",
    "InboundKind",
    "Location",
    "Outbound",
    "Sent",
    "Services",
    "Step",
    "StoredMessage",
    "Texts",
    "Turn",
    "TurnWrites",
]
