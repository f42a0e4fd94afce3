"""Where the settings come from: ``settings.json``, overridden key by key by the
``CDKTF_CONTEXT_JSON`` environment variable, turned into one ``StackConfig`` per environment.

They are not in cdktf.json's ``context``: the cdktf CLI replaces ``CDKTF_CONTEXT_JSON`` with that
context before it starts the app, so an override given to ``npx cdktf synth`` (or ``deploy``) would
be silently ignored. An error names the key as the user wrote it (and where).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The pure Python JSON parser's parts (not in typeshed): a parse_object of our own needs them.
from json.decoder import JSONObject, scanstring  # type: ignore[attr-defined]
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from ..blocks.rules import as_json, require_unique
from ..blocks.rules import fail as _fail
from .config import ConfigError, StackConfig

SETTINGS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(StackConfig))
_TUPLE_SETTINGS = {"regions"}
SETTINGS_FILE = "settings.json"
OVERRIDE_VARIABLE = "CDKTF_CONTEXT_JSON"
# cdktf's own context keys (cdktf 0.21 reads no others): passed to the CDK, never taken for settings.
# The CLI adds cdktfRelativeModules to every app's context.
CDKTF_FLAGS = (
    "@cdktf/disable_stack_trace_in_metadata",
    "cdktfJsonPath",
    "cdktfRelativeModules",
    "cdktfStaticModuleAssetHash",
    "cdktfVersion",
)


def _snake(key: str) -> str:
    """``lambdaMemoryMb``, ``Lambda-Memory-MB`` -> ``lambda_memory_mb``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).replace("-", "_").replace(" ", "_").lower()


def _closest(word: str, choices: Sequence[str]) -> list[str]:
    """The choices most like ``word``, whatever its case or style (all of them when several are
    equally close), alphabetically."""
    normal = _snake(word)
    if normal in choices:
        return [normal]
    scores = {c: difflib.SequenceMatcher(None, normal, c).ratio() for c in choices}
    best = max(scores.values(), default=0.0)
    return sorted(c for c, score in scores.items() if score == best and score >= 0.6)


# Settings a release retired, and what replaced them (the CHANGELOG's Upgrading notes say why).
RETIRED = {
    "alarm_api_4xx_threshold": "alarm_api_4xx_rate_percent",
    "alarm_api_5xx_threshold": "alarm_api_5xx_rate_percent",
}


def _unknown(key: str, where: str) -> ConfigError:
    if key in RETIRED:
        return ConfigError(
            f"{where}{key}",
            f"was replaced in 0.6.0 by {as_json(RETIRED[key])}, a share of requests in percent, not a count "
            "(see CHANGELOG.md)",
        )
    close = _closest(key, (*SETTINGS, "environments"))
    hint = f"; did you mean {' or '.join(map(as_json, close))}?" if close else ""
    if not close and _snake(key).startswith(("cdktf", "@cdktf")):
        hint = f"; cdktf's own flags are {', '.join(CDKTF_FLAGS)}"
    return ConfigError(f"{where}{key}", f"is not a known setting{hint} (see docs/configuration.md)")


def _settings_from(raw: Mapping[str, Any], where: str, *, flags: dict[str, Any] | None) -> dict[str, Any]:
    """Our settings from a mapping; cdktf's flags go to ``flags`` (top level only). Anything else
    is refused with the nearest setting's name."""
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        if key in CDKTF_FLAGS and flags is not None:
            flags[key] = value
            continue
        if key not in SETTINGS:
            raise _unknown(key, where)
        if key in _TUPLE_SETTINGS and isinstance(value, list):
            value = tuple(value)
        settings[key] = value
    return settings


def configs_from_context(context: Mapping[str, Any], *, overridden: Sequence[str] = ()) -> list[StackConfig]:
    """One StackConfig per environment.

    ``environments`` (optional) maps each environment name to settings that override the shared ones
    for that environment only, e.g. ``{"dev": {}, "prod": {"lambda_memory_mb": 512}}``; a list of
    names means no overrides. Without it there is one environment, ``environment``. An error names
    the key where it was written; ``overridden`` (keys set by CDKTF_CONTEXT_JSON) says where else.
    """
    if not isinstance(context, Mapping):
        raise ConfigError(SETTINGS_FILE, f"{as_json(context)} must be a JSON object of settings")
    return _configs(context, overridden=tuple(overridden))


# Settings of the bootstrap stack, which every environment of the account shares.
ACCOUNT_WIDE = ("config_rules", "config_recorder")


def _configs(context: Mapping[str, Any], *, overridden: tuple[str, ...]) -> list[StackConfig]:
    def located(error: ConfigError, where: str, own: Mapping[str, Any], *, own_breaks_it: bool = False) -> ConfigError:
        root = re.split(r"[.\[]", error.setting, maxsplit=1)[0]  # secrets[0], vpc_cidrs.eu-west-1: the key
        written = f"{where}{error.setting}" if root in own else error.setting
        if own_breaks_it and root not in own:
            written = f"{error.setting} (for {where[:-1]})"
        top = where.split(".", 1)[0] if root in own and where else root
        return error.at(f"{written} (from {OVERRIDE_VARIABLE})" if top in overridden else written)

    shared_raw = {k: v for k, v in context.items() if k != "environments"}
    try:
        shared = _settings_from(shared_raw, "", flags={})
    except ConfigError as error:
        raise located(error, "", {}) from None
    environments = context.get("environments")
    if environments is None:
        try:
            return [StackConfig(**shared)]
        except ConfigError as error:
            raise located(error, "", {}) from None
    if isinstance(environments, list) and environments and all(isinstance(e, str) for e in environments):
        try:
            require_unique("environments", environments)
        except ConfigError as error:
            raise located(error, "", {}) from None
        environments = {name: {} for name in environments}
    if not isinstance(environments, Mapping) or not environments:
        raise located(
            _fail("environments", environments, "must be a non-empty list of names or an object of name to settings"),
            "",
            {},
        )
    if "environment" in shared:
        raise located(
            _fail("environment", shared["environment"], 'cannot be set together with "environments" (name them there)'),
            "",
            {},
        )
    configs = []
    for name, overrides in environments.items():
        where = f"environments.{name}."
        try:
            if not isinstance(overrides, Mapping):
                raise _fail(where[:-1], overrides, "must be an object of settings")
            own = _settings_from(overrides, where, flags=None)
            if "environment" in own:
                raise ConfigError(f"{where}environment", "is set by the environment's name")
            for key in ACCOUNT_WIDE:
                if key in own:
                    raise _fail(
                        f"{where[:-1]}.{key}",
                        own[key],
                        "is account-wide (the bootstrap stack's, one per account): set it at the top level",
                    )
        except ConfigError as error:
            raise located(error, "", {}) from None
        try:
            configs.append(StackConfig(**{**shared, **own, "environment": name}))
        except ConfigError as error:
            # The environment's name is written in environments, not as environment. A shared setting
            # that only the environment's own settings break (its regions, the shared home_region) is
            # named with that environment.
            if error.setting == "environment":
                raise located(error.at("environments"), where, own) from None
            raise located(error, where, own, own_breaks_it=_valid_alone(shared, name)) from None
    stack_names = [c.stack_name for c in configs]
    if len(set(stack_names)) != len(stack_names):
        raise _fail("environments", list(environments), "must have distinct names")
    return configs


def _valid_alone(shared: Mapping[str, Any], environment: str) -> bool:
    """The shared settings make a valid configuration without an environment's own."""
    try:
        StackConfig(**{**shared, "environment": environment})
    except ConfigError:
        return False
    return True


@dataclass(frozen=True)
class Settings:
    """What the app is configured with: ``context`` (settings.json, overridden key by key by
    CDKTF_CONTEXT_JSON), cdktf's own flags for the CDK, the keys the override changed, and whether
    there was a settings.json (without it, the settings are the built-in defaults)."""

    context: dict[str, Any]
    cdktf_flags: dict[str, Any]
    overridden: tuple[str, ...] = ()
    from_file: bool = True

    def configs(self) -> list[StackConfig]:
        return _configs(self.context, overridden=self.overridden)

    def origin(self) -> str:
        """Where the settings came from, for the synth summary and ``--check``."""
        base = SETTINGS_FILE if self.from_file else f"built-in defaults, no {SETTINGS_FILE}"
        if not self.overridden:
            return base
        return f"{base}, with {OVERRIDE_VARIABLE} setting {', '.join(self.overridden)}"


def _json_file(path: Path, encoding: str = "utf-8") -> Any:
    """A JSON file's content; a syntax error is one line with the file, line and column."""
    try:
        text = path.read_text(encoding=encoding)
    except OSError as error:
        raise ConfigError(path.name, f"cannot be read ({error.strerror or error})") from None
    return _json_text(text, path.name)


class _DuplicateKey(Exception):
    def __init__(self, key: str, first: int, second: int) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _members(text: str, start: int, scan_once: Any) -> list[tuple[str, int]]:
    """Each key of the (valid) JSON object at ``text[start]``, with where it starts."""
    members = []
    pos = _skip_space(text, start + 1)
    while text[pos] == '"':
        key, end = scanstring(text, pos + 1)
        members.append((key, pos))
        _, end = scan_once(text, _skip_space(text, _skip_space(text, end) + 1))  # past the colon
        after = _skip_space(text, end)
        if text[after] != ",":
            break
        pos = _skip_space(text, after + 1)
    return members


class _StrictDecoder(json.JSONDecoder):
    """Python's JSON parsing, but a key set twice in one object is an error (json.loads keeps the
    last silently). Pure Python scanner: the C one takes no parse_object; settings files are small."""

    def __init__(self) -> None:
        super().__init__(object_pairs_hook=list)
        self.parse_object = self._object
        self.scan_once = py_make_scanner(self)

    def _object(self, s_and_end: tuple[str, int], *args: Any) -> tuple[dict[str, Any], int]:
        pairs, end = JSONObject(s_and_end, *args)
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            text, start = s_and_end
            seen: dict[str, int] = {}
            for key, position in _members(text, start - 1, self.scan_once):
                if key in seen:
                    raise _DuplicateKey(key, seen[key], position)
                seen[key] = position
        return dict(pairs), end


def _line_column(text: str, pos: int) -> str:
    return f"line {text.count(chr(10), 0, pos) + 1}, column {pos - text.rfind(chr(10), 0, pos)}"


def _json_text(text: str, name: str) -> Any:
    if text.startswith("\ufeff"):  # settings.json is read past one; cdktf.json and the override are not
        raise ConfigError(name, "starts with a UTF-8 byte-order mark (invisible in most editors): remove it")
    try:
        return _StrictDecoder().decode(text)
    except _DuplicateKey as error:
        raise ConfigError(
            name,
            f"{_line_column(text, error.second)}: {as_json(error.key)} is set a second time in the same object "
            f"(first at {_line_column(text, error.first)}); only the last would count: remove one",
        ) from None
    except json.JSONDecodeError as error:
        before = text[: error.pos].rstrip()
        hint = "; remove the trailing comma" if before.endswith(",") and error.msg.startswith("Expecting") else ""
        raise ConfigError(
            name, f"line {error.lineno}, column {error.colno}: {error.msg}{hint} (not valid JSON)"
        ) from None
    except (ValueError, RecursionError) as error:  # an integer of thousands of digits, nesting too deep
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error).split(";")[0]
        raise ConfigError(name, f"cannot be read as JSON: {reason}") from None


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(name, f"{as_json(value)} must be a JSON object of settings")
    return value


def load_settings(project_dir: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """``settings.json`` (when present), overridden key by key by ``CDKTF_CONTEXT_JSON``; cdktf.json
    is checked too, since the cdktf CLI reads it first."""
    environ = os.environ if environ is None else environ
    cdktf_json = project_dir / "cdktf.json"
    if cdktf_json.exists():
        cli = _json_file(cdktf_json)
        if isinstance(cli, dict) and "context" in cli:
            raise ConfigError(
                "cdktf.json",
                f'"context" must not be set: the cdktf CLI replaces {OVERRIDE_VARIABLE} with it, so an override '
                f"would be ignored; move the settings to {SETTINGS_FILE}",
            )
    settings_json = project_dir / SETTINGS_FILE
    # utf-8-sig: editors on Windows may start the file with a byte-order mark, which says nothing wrong.
    context = _object(_json_file(settings_json, "utf-8-sig"), SETTINGS_FILE) if settings_json.exists() else {}
    flags = {k: context.pop(k) for k in list(context) if k in CDKTF_FLAGS}
    overridden: list[str] = []
    raw = environ.get(OVERRIDE_VARIABLE)
    if raw:
        overrides = _object(_json_text(raw, OVERRIDE_VARIABLE), OVERRIDE_VARIABLE)
        for key, value in overrides.items():
            if key in CDKTF_FLAGS:
                flags[key] = value
                continue
            if key not in context or context[key] != value:  # null too: it is written, and checked
                overridden.append(key)
            context[key] = value
    return Settings(context=context, cdktf_flags=flags, overridden=tuple(overridden), from_file=settings_json.exists())
