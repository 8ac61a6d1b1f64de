"""Running the service: logs, request ids, health, metrics, backup, export, retention."""
