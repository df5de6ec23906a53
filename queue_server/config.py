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


def _parse_env(kind, raw):
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind is int:
        return int(raw)
    if kind is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def load(config_file=None, environ=None):
    """Build the settings dict: defaults < config file (TOML) < HANGCHO_* environment."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    path = config_file or environ.get("HANGCHO_CONFIG")
    if path and Path(path).exists():
        with open(path, "rb") as fh:
            for key, value in tomllib.load(fh).items():
                settings[key.upper()] = value
    for key, kind in ENV_TYPES.items():
        raw = environ.get("HANGCHO_" + key)
        if raw is not None:
            settings[key] = _parse_env(kind, raw)
    return settings


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
