"""Configuration: defaults, then the config file, then HANGCHO_* environment variables.

Every setting is documented in docs/configuration.md; a test fails when one is not.
"""
import json
import os
import secrets
import tomllib
from pathlib import Path

DEFAULTS = {
    "CENTER_NAME": "Trung tâm Phục vụ hành chính công",
    "CENTER_NAME_EN": "Public Administration Service Center",
    "TIMEZONE": "Asia/Ho_Chi_Minh",
    "LANGUAGES": ["vi", "en"],
    "DATABASE": "instance/hangcho.db",
    "PUBLIC_URL": None,
    "REMOTE_TICKETS": False,
    "TOKEN_TTL_S": 12 * 3600,
    "DEVICE_TOKEN_TTL_S": 365 * 24 * 3600,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "SOCKETIO_ASYNC_MODE": "gevent",
    "SOCKETIO_MESSAGE_QUEUE": None,
    "SECRET_KEY_FILE": "instance/secret_key",
    "LOG_LEVEL": "INFO",
    "LOG_JSON": True,
    "ACCESS_LOG": False,
    "LOGIN_LIMIT_PER_ADDRESS": "30 per minute",
    "LOGIN_LIMIT_PER_USER": "10 per 10 minutes",
    "REMOTE_TICKET_LIMIT": "5 per 10 minutes",
    "RATE_LIMIT_STORAGE": "memory://",
    "MAX_SOCKET_CLIENTS": 5000,
    "MAX_SOCKET_CLIENTS_PER_ADDRESS": 300,
    "TRUSTED_PROXIES": 0,
    "DAY_CHECK_INTERVAL_S": 60,
    "TOKEN_CHECK_INTERVAL_S": 10,
}

# Settings that may be given as HANGCHO_<NAME> in the environment, with their types.
ENV_TYPES = {
    "CENTER_NAME": str, "CENTER_NAME_EN": str, "TIMEZONE": str, "DATABASE": str,
    "PUBLIC_URL": str, "REMOTE_TICKETS": bool, "TOKEN_TTL_S": int,
    "DEVICE_TOKEN_TTL_S": int, "MAX_CONTENT_LENGTH": int, "SOCKETIO_ASYNC_MODE": str,
    "SOCKETIO_MESSAGE_QUEUE": str, "SECRET_KEY_FILE": str, "LOG_LEVEL": str,
    "LANGUAGES": list, "LOG_JSON": bool, "ACCESS_LOG": bool,
    "LOGIN_LIMIT_PER_ADDRESS": str, "LOGIN_LIMIT_PER_USER": str, "REMOTE_TICKET_LIMIT": str,
    "RATE_LIMIT_STORAGE": str, "MAX_SOCKET_CLIENTS": int, "MAX_SOCKET_CLIENTS_PER_ADDRESS": int,
    "TRUSTED_PROXIES": int, "DAY_CHECK_INTERVAL_S": int, "TOKEN_CHECK_INTERVAL_S": int,
}


BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True,
              "0": False, "false": False, "no": False, "off": False}
# Counts and durations that must be above zero (zero seconds between day checks would spin;
# a negative lifetime would hand out tokens already expired).
POSITIVE = ("TOKEN_TTL_S", "DEVICE_TOKEN_TTL_S", "MAX_CONTENT_LENGTH", "MAX_SOCKET_CLIENTS",
            "MAX_SOCKET_CLIENTS_PER_ADDRESS", "DAY_CHECK_INTERVAL_S", "TOKEN_CHECK_INTERVAL_S")
LIMITS = ("LOGIN_LIMIT_PER_ADDRESS", "LOGIN_LIMIT_PER_USER", "REMOTE_TICKET_LIMIT")
ASYNC_MODES = ("gevent", "threading")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and says what it takes."""


def _parse_env(key, kind, raw):
    if kind is bool:
        word = raw.strip().lower()
        if word not in BOOL_WORDS:
            raise ConfigError(f"HANGCHO_{key}={raw!r}: use true or false")
        return BOOL_WORDS[word]
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"HANGCHO_{key}={raw!r}: a whole number is needed") from None
    if kind is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _file_value(path, key, value):
    """A config file's value, checked against its setting's type (TOML keeps "false" a
    string: taken as is it would be true)."""
    name = key.upper()
    if name not in ENV_TYPES:
        raise ConfigError(f"{path}: '{key}' is not a setting (docs/configuration.md lists them)")
    kind = ENV_TYPES[name]
    ok = (isinstance(value, bool) if kind is bool else
          isinstance(value, int) and not isinstance(value, bool) if kind is int else
          isinstance(value, list) and all(isinstance(v, str) for v in value)
          if kind is list else isinstance(value, str))
    if not ok:
        words = {bool: "true or false (no quotes)", int: "a whole number (no quotes)",
                 list: "a list of texts", str: "a text in quotes"}[kind]
        raise ConfigError(f"{path}: {key} = {value!r}: {words} is needed")
    return value


def load(config_file=None, environ=None):
    """Build the settings dict: defaults < config file (TOML) < HANGCHO_* environment.
    A setting that cannot be used raises ConfigError, before anything starts."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    path = config_file or environ.get("HANGCHO_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                values = tomllib.load(fh)
        except OSError as error:
            raise ConfigError(f"cannot read the config file {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path} is not valid TOML: {error}") from None
        for key, value in values.items():
            settings[key.upper()] = _file_value(path, key, value)
    for key, kind in ENV_TYPES.items():
        raw = environ.get("HANGCHO_" + key)
        if raw is not None:
            settings[key] = _parse_env(key, kind, raw)
    check(settings)
    return settings


def check(settings):
    """Refuse values that would start a server that misbehaves later: counts and durations
    at or below zero, an unknown time zone or log level, rate limits or stores that do not
    parse, a message queue that is not Redis."""
    import logging
    from zoneinfo import ZoneInfo

    from limits import parse_many
    from limits.storage import SCHEMES

    def refuse(key, words):
        raise ConfigError(f"{key.lower()} = {settings[key]!r}: {words}")

    for key in POSITIVE:
        if settings[key] <= 0:
            refuse(key, "must be above zero")
    if settings["TRUSTED_PROXIES"] < 0:
        refuse("TRUSTED_PROXIES", "must be 0 or more")
    try:
        ZoneInfo(settings["TIMEZONE"])
    except (ValueError, KeyError, OSError):
        refuse("TIMEZONE", "not a time zone (for instance Asia/Ho_Chi_Minh)")
    if not isinstance(logging.getLevelName(str(settings["LOG_LEVEL"]).upper()), int):
        refuse("LOG_LEVEL", "use DEBUG, INFO, WARNING or ERROR")
    for key in LIMITS:
        try:
            parse_many(settings[key])
        except ValueError:
            refuse(key, "a rate such as '30 per minute' is needed")
    if settings["RATE_LIMIT_STORAGE"].split("://", 1)[0] not in SCHEMES:
        refuse("RATE_LIMIT_STORAGE", "use memory:// or redis://HOST:PORT/N")
    if settings["SOCKETIO_ASYNC_MODE"] not in ASYNC_MODES:
        refuse("SOCKETIO_ASYNC_MODE", "use gevent (or threading, for tests)")
    queue = settings["SOCKETIO_MESSAGE_QUEUE"]
    if queue and not queue.startswith(("redis://", "rediss://")):
        refuse("SOCKETIO_MESSAGE_QUEUE", "use redis://HOST:PORT/N")
    if settings["PUBLIC_URL"] and not settings["PUBLIC_URL"].startswith(("http://", "https://")):
        refuse("PUBLIC_URL", "use http://ADDRESS[:PORT] or https://...")
    if not settings["LANGUAGES"] or not set(settings["LANGUAGES"]) <= {"vi", "en"}:
        refuse("LANGUAGES", 'use ["vi", "en"] or ["vi"]')


def secret_key(path):
    """The session-signing key, generated on first start and kept outside the repository."""
    path = Path(path)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def dumps(value):
    """JSON for storage, keeping Vietnamese letters readable."""
    return json.dumps(value, ensure_ascii=False)
