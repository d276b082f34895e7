"""Configuration: the one settings class, read from the environment and `.env` (imports nothing of ours)."""

from config.settings import (
    DEFAULT_CORPUS,
    DEFAULT_EMBED_MODEL,
    DEFAULT_INDEX,
    ENV_FILE,
    PACKAGE_ROOT,
    ConfigError,
    Settings,
    get_settings,
    load_settings,
)

__all__ = [
    "DEFAULT_CORPUS",
    "DEFAULT_EMBED_MODEL",
    "DEFAULT_INDEX",
    "ENV_FILE",
    "PACKAGE_ROOT",
    "ConfigError",
    "Settings",
    "get_settings",
    "load_settings",
]
