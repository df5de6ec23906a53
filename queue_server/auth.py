"""Accounts and tokens: argon2 password hashes, random expiring tokens, role checks."""
import functools
import hashlib
import secrets
import sqlite3

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .queue import ROLE_RANK, ROLES, QueueError
from .store import NotFound

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash():
    """Verifying against this keeps a wrong username as slow as a wrong password (made on
    first use, not at import, so the server starts at once)."""
    return _hasher.hash("not-a-password")

DEVICE_ROLES = ("kiosk", "display")


def hash_password(password):
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def token_hash(token):
    """Tokens are stored only as their SHA-256, so a copy of the database opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(center, username, password, role, name=None, actor="cli"):
    """Create an account; QueueError on a bad role, an existing username or an empty password."""
    if role not in ROLES:
        raise QueueError("invalid_request", f"Vai trò không hợp lệ: {role} / Unknown role "
                         f"'{role}' (one of {', '.join(ROLES)})", 422)
    if not password:
        raise QueueError("invalid_request", "Mật khẩu trống / The password is empty", 422)
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "") \
            .replace("-", "").isalnum():
        raise QueueError("invalid_request", "Tên đăng nhập không hợp lệ / The username may hold "
                         "letters, digits, '.', '_' and '-' (at most 64)", 422)
    now = center.clock.now()
    try:
        with center.store.transaction() as store:
            store.add_user(username, name or username, role, hash_password(password), now)
            store.log(now, "user_add", actor, data={"username": username, "role": role})
    except sqlite3.IntegrityError:
        raise QueueError("conflict", f"Tên đăng nhập '{username}' đã tồn tại / The username "
                         f"'{username}' already exists") from None


def account_for(center, username, password):
    """The account if the password is its own and it is not disabled, else None (an unknown
    username takes as long as a wrong password)."""
    try:
        user = center.store.user(username)
    except NotFound:
        user = None
    try:
        _hasher.verify(user["password_hash"] if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user is not None and not user["disabled"] else None


def login(center, username, password):
    """Check a password and open a session; returns (token, user) or raises 401."""
    user = account_for(center, username, password)
    if user is None:
        raise QueueError("unauthorized", "Sai tên đăng nhập hoặc mật khẩu / Wrong username or "
                         "password", 401)
    now = center.clock.now()
    ttl = center.settings.get("DEVICE_TOKEN_TTL_S") if user["role"] in DEVICE_ROLES \
        else center.settings.get("TOKEN_TTL_S")
    token = secrets.token_urlsafe(32)
    with center.store.transaction() as store:
        store.add_token(token_hash(token), username, now, now + (ttl or 43200))
        if _hasher.check_needs_rehash(user["password_hash"]):
            store.update_user(username, password_hash=hash_password(password))
        store.log(now, "login", username)
    return token, {"username": user["username"], "name": user["name"], "role": user["role"]}


def user_for_token(center, token):
    """The user a token belongs to, or None when it is unknown, expired or revoked."""
    if not token:
        return None
    return center.store.token_user(token_hash(token), center.clock.now())


def logout(center, token):
    """Revoke a token."""
    center.store.revoke_token(token_hash(token))


def has_role(user, role):
    """Whether a user's role includes `role`: each role may do what the roles before it may."""
    return user is not None and ROLE_RANK[user["role"]] >= ROLE_RANK[role]
