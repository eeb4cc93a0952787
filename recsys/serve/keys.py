"""API keys and per-key rate limits.

Keys come from a TOML file (``--keys keys.toml``)::

    [[key]]
    name = "shop-frontend"     # shown in logs and metrics instead of the key
    key = "pk_live_..."         # at least 16 characters
    role = "read"               # read: list and search endpoints, and events (safe in a browser page)
                                # events: only POST /v1/events (a shop backend sending carts/purchases)
                                # admin: everything, catalog changes and reloads included
    rate = 50                   # requests per second (token bucket), default 50
    burst = 100                 # bucket size, default 2 x rate

or from the environment: ``VISREC_READ_KEY`` and ``VISREC_ADMIN_KEY``. Keys are compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROLES = ("read", "events", "admin")
MIN_KEY_LENGTH = 16


@dataclass
class ApiKey:
    name: str
    key: str
    role: str
    rate: float = 50.0
    burst: float = 100.0

    def __repr__(self) -> str:  # never print the secret
        return f"ApiKey(name={self.name!r}, role={self.role!r}, rate={self.rate}, burst={self.burst})"

    def allows(self, role: str) -> bool:
        if self.role == "admin" or self.role == role:
            return True
        return role == "events" and self.role == "read"  # browser pages send impressions and clicks


class KeysFileError(ValueError):
    """A keys file that cannot be used (the message names the file and entry)."""


def _check(entry: dict, where: str) -> ApiKey:
    if not isinstance(entry, dict):
        raise KeysFileError(f"{where}: each [[key]] must be a table")
    unknown = set(entry) - {"name", "key", "role", "rate", "burst"}
    if unknown:
        raise KeysFileError(f"{where}: unknown field(s) {sorted(unknown)}")
    key, role = entry.get("key"), entry.get("role", "read")
    if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH:
        raise KeysFileError(f"{where}: 'key' must be a string of at least {MIN_KEY_LENGTH} characters")
    if role not in ROLES:
        raise KeysFileError(f"{where}: role must be one of {ROLES}, got {role!r}")
    rate = entry.get("rate", 50.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        raise KeysFileError(f"{where}: rate must be a positive number of requests per second, got {rate!r}")
    burst = entry.get("burst", 2.0 * rate)
    if isinstance(burst, bool) or not isinstance(burst, (int, float)) or burst < 1:
        raise KeysFileError(f"{where}: burst must be a number >= 1, got {burst!r}")
    return ApiKey(str(entry.get("name", role)), key, role, float(rate), float(burst))


class KeyRing:
    """The keys a server accepts; empty: open access (the server then listens on loopback only)."""

    def __init__(self, keys=()):
        self.keys = list(keys)
        secrets = [k.key for k in self.keys]
        if len(set(secrets)) != len(secrets):
            raise KeysFileError("the same key is listed twice")
        self._buckets = {id(k): TokenBucket(k.rate, k.burst) for k in self.keys}

    @classmethod
    def from_file(cls, path) -> "KeyRing":
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeysFileError(f"{path}: keys file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise KeysFileError(f"{path}: not valid TOML ({e})") from None
        entries = data.get("key", [])
        if not isinstance(entries, list) or not entries:
            raise KeysFileError(f"{path}: no [[key]] entries")
        return cls(_check(e, f"{path}: key {i + 1}") for i, e in enumerate(entries))

    @classmethod
    def from_env(cls, environ=None) -> "KeyRing":
        env = os.environ if environ is None else environ
        keys = [_check({"name": f"env-{role}", "key": env[var], "role": role}, var)
                for role, var in (("read", "VISREC_READ_KEY"), ("admin", "VISREC_ADMIN_KEY")) if env.get(var)]
        return cls(keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def find(self, presented: str | None) -> ApiKey | None:
        """The key matching ``presented`` (every key compared, in constant time), or None."""
        if not presented:
            return None
        found = None
        given = presented.encode("utf-8", "surrogatepass")
        for k in self.keys:
            if hmac.compare_digest(given, k.key.encode("utf-8")):
                found = k
        return found

    def take(self, key: ApiKey) -> float:
        """Spend one request of ``key``'s budget: 0 if allowed, else seconds until one is."""
        return self._buckets[id(key)].take()


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; each request takes one."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = float(rate), float(burst)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate
