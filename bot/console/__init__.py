"""The mediator console: accounts and roles, login, the pages, live updates and
the JSON API (``/console`` and ``/console/api``).

``Console`` is built with the app (``bot.app``), started in its lifespan and
serves its routes; ``bot.console.cli`` adds ``minshi mediator …``.
"""

from .site import Console

__all__ = ["Console"]
