"""Shared dependencies of the API routers, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from config import Settings, get_settings
from rag.engine import Engine
from service.engines import EngineHolder


def get_engine_holder(request: Request) -> EngineHolder:
    """Return what holds the running app's engine (and reloads it)."""
    holder: EngineHolder = request.app.state.engine_holder
    return holder


def get_engine(request: Request) -> Engine:
    """Return the engine of the running app."""
    return get_engine_holder(request).engine


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


EngineDep = Annotated[Engine, Depends(get_engine)]
EngineHolderDep = Annotated[EngineHolder, Depends(get_engine_holder)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
