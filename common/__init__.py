"""What every package shares: admin-file loading, privacy masking, the message model,
the clock, and the ports for the outbox, live notifications and background jobs.

It imports nothing of the project's, so ``dialogs``, ``faq``, ``handoff`` and ``bot``
may all depend on it.
"""
