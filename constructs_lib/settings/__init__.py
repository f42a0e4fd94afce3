"""The settings layer: what a user sets (``StackConfig``), its validation, where it comes from
(``load_settings``), and the regions this template knows. Plain Python: importing it loads no CDK."""

from .config import ConfigError, StackConfig, regions_of
from .loading import SETTINGS, Settings, configs_from_context, load_settings

__all__ = ["SETTINGS", "ConfigError", "Settings", "StackConfig", "configs_from_context", "load_settings", "regions_of"]
