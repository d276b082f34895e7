"""Shared dependencies of the API routers, as `Annotated` aliases."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from config import Settings, get_settings
from rag.engine import Engine


class EngineHolder:
    """Holds the live engine; `swap` replaces it atomically so in-flight requests finish on the old one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return self._engine

    def swap(self, engine: Engine) -> Engine:
        """Install `engine`; return the previous one."""
        with self._lock:
            previous, self._engine = self._engine, engine
        return previous


def get_engine(request: Request) -> Engine:
    """Return the engine of the running app."""
    holder: EngineHolder = request.app.state.engine_holder
    return holder.engine


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
