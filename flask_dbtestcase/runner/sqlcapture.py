"""``--debug-sql``: the SQL SQLAlchemy logs during each test, kept for the
report of a test that fails or errors."""

from __future__ import annotations

import logging

__all__ = ["SQLCapture"]


class SQLCapture(logging.Handler):
    """Collect the SQL SQLAlchemy logs during one test (``--debug-sql``)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.buffer: list[str] | None = None
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.buffer is not None:
            try:
                self.buffer.append(self.format(record))
            except Exception:  # pragma: no cover - never break a test over logging
                pass

    def install(self) -> None:
        """Take over SQLAlchemy's SQL logging until ``uninstall()``."""
        logger = logging.getLogger(_SQL_LOGGER)
        self._logger_state = (logger.level, logger.propagate)
        logger.setLevel(logging.INFO)
        logger.addHandler(self)
        logger.propagate = False

    def uninstall(self) -> None:
        """Give SQLAlchemy's SQL logging back as ``install()`` found it."""
        logger = logging.getLogger(_SQL_LOGGER)
        logger.removeHandler(self)
        logger.level, logger.propagate = self._logger_state


_SQL_LOGGER = "sqlalchemy.engine"
