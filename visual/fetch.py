"""Catalog images given by URL: fetched concurrently into a disk cache, each failure a per-item reason.

Only ``http`` and ``https``. Each URL is fetched with a connect and a read timeout, retried with
exponential backoff on timeouts, dropped connections and 5xx answers (429 too), following at most
``max_redirects`` redirects, and refused when its body exceeds the image size cap or its content type
is not an image. Private, loopback, link-local and reserved addresses are refused unless
``allow_private`` (the check is made on the resolved address, and the connection goes to that address,
so a DNS answer cannot swap it afterwards). Bodies are cached by URL (with the ``ETag`` /
``Last-Modified`` the server sent, revalidated on the next run; a cached copy is used when the server
cannot be reached) and stored by content hash, so a rerun downloads nothing that has not changed.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import os
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from tqdm.auto import tqdm

from .images import max_file_bytes

#: what the fetcher sends as User-Agent
USER_AGENT = "visrec-image-fetcher/1"
RETRY_STATUS = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """A URL that cannot be fetched; ``retry`` when trying again may help (timeouts, 5xx)."""

    def __init__(self, reason: str, retry: bool = False):
        super().__init__(reason)
        self.retry = retry


def default_image_cache() -> Path:
    """``$VISREC_CACHE/images`` or ``~/.cache/visrec/images``."""
    base = os.environ.get("VISREC_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "visrec") / "images"


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address resolved beforehand, with the host name kept for SNI and certificates."""

    def __init__(self, host, ip, port, timeout, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class UrlFetcher:
    """Fetch image URLs into a disk cache.

    Parameters
    ----------
    cache_dir : path, optional
        Default :func:`default_image_cache`.
    concurrency : int
        Downloads in flight.
    connect_timeout, read_timeout : float
        Seconds to connect, and to wait for each read of the answer.
    retries : int
        Further tries after a timeout, a dropped connection or a 5xx/429 answer.
    backoff : float
        Seconds before the first retry, doubled each time.
    max_redirects : int
    max_bytes : int, optional
        Largest body (default: the image file cap, ``$VISREC_MAX_IMAGE_BYTES`` or 50 MB).
    allow_private : bool
        Also fetch from loopback, private, link-local and reserved addresses.
    progress : bool
    """

    def __init__(self, cache_dir=None, *, concurrency: int = 8, connect_timeout: float = 5.0,
                 read_timeout: float = 20.0, retries: int = 2, backoff: float = 0.5, max_redirects: int = 5,
                 max_bytes: int | None = None, allow_private: bool = False, progress: bool = True):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_image_cache()
        self.concurrency, self.connect_timeout, self.read_timeout = concurrency, connect_timeout, read_timeout
        self.retries, self.backoff, self.max_redirects = retries, backoff, max_redirects
        self.max_bytes, self.allow_private, self.progress = max_bytes, allow_private, progress

    # -- many --------------------------------------------------------------------------------
    def fetch_all(self, urls) -> tuple[dict, dict]:
        """``({url: local file}, {url: reason})`` for the distinct ``urls``, fetched concurrently."""
        todo = list(dict.fromkeys(str(u) for u in urls))
        done, failed = {}, {}
        if not todo:
            return done, failed
        with ThreadPoolExecutor(max(1, self.concurrency)) as pool, \
                tqdm(total=len(todo), desc="fetching images", unit="img", disable=not self.progress) as bar:
            for url, (path, reason) in zip(todo, pool.map(self._fetch_one, todo)):
                if path is not None:
                    done[url] = path
                else:
                    failed[url] = reason
                bar.update(1)
        return done, failed

    def _fetch_one(self, url: str):
        try:
            return self.fetch(url), None
        except FetchError as e:
            return None, str(e)

    # -- one ---------------------------------------------------------------------------------
    def fetch(self, url: str) -> Path:
        """The cached file of ``url``, downloaded or revalidated now; FetchError with the reason."""
        entry_file = self.cache_dir / "urls" / (hashlib.sha256(url.encode()).hexdigest() + ".json")
        entry = self._entry(entry_file)
        delay, last = self.backoff, None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                status, body, headers = self._get(url, entry)
            except FetchError as e:
                if not e.retry:
                    raise
                last = e
                continue
            if status == 304 and entry is not None:
                return self._blob(entry["sha256"])
            return self._store(entry_file, url, body, headers)
        if entry is not None and self._blob(entry["sha256"]).exists():
            return self._blob(entry["sha256"])  # unreachable now: the copy fetched before
        raise FetchError(f"gave up after {self.retries + 1} tries: {last}")

    def _entry(self, f: Path):
        try:
            e = json.loads(f.read_text())
            return e if self._blob(e["sha256"]).exists() else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _blob(self, sha: str) -> Path:
        return self.cache_dir / "blobs" / sha[:2] / sha

    def _store(self, entry_file: Path, url: str, body: bytes, headers) -> Path:
        from recsys.io.atomic import atomic_write_bytes, atomic_write_text
        sha = hashlib.sha256(body).hexdigest()
        blob = self._blob(sha)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(blob, body)
        entry_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(entry_file, json.dumps({"url": url, "sha256": sha, "etag": headers.get("ETag"),
                                                  "last_modified": headers.get("Last-Modified")}))
        return blob

    def _get(self, url: str, entry):
        """``(status, body, headers)`` after redirects; FetchError otherwise."""
        cap = self.max_bytes or max_file_bytes()
        for _ in range(self.max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https"):
                raise FetchError(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'}://")
            if not parts.hostname:
                raise FetchError("the URL has no host")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            ip = self._address(parts.hostname, port)
            conn = (_PinnedHTTPS(parts.hostname, ip, port, self.connect_timeout, ssl.create_default_context())
                    if parts.scheme == "https" else http.client.HTTPConnection(ip, port, timeout=self.connect_timeout))
            headers = {"User-Agent": USER_AGENT, "Accept": "image/*", "Host": parts.netloc}
            if entry is not None:
                headers.update({k: v for k, v in (("If-None-Match", entry.get("etag")),
                                                   ("If-Modified-Since", entry.get("last_modified"))) if v})
            try:
                conn.connect()
                conn.sock.settimeout(self.read_timeout)
                conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else "") or "/", headers=headers)
                resp = conn.getresponse()
                if resp.status in (301, 302, 303, 307, 308):
                    loc = resp.getheader("Location")
                    if not loc:
                        raise FetchError(f"HTTP {resp.status} without a Location")
                    url = urljoin(url, loc)
                    continue
                if resp.status == 304:
                    return 304, b"", resp.headers
                if resp.status != 200:
                    raise FetchError(f"HTTP {resp.status} {resp.reason}", retry=resp.status in RETRY_STATUS)
                ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
                if ctype and not (ctype.startswith("image/") or ctype == "application/octet-stream"):
                    raise FetchError(f"not an image: Content-Type {ctype}")
                length = resp.getheader("Content-Length")
                if length and length.isdigit() and int(length) > cap:
                    raise FetchError(f"{int(length)} bytes, over the {cap}-byte image cap")
                body = resp.read(cap + 1)
                if len(body) > cap:
                    raise FetchError(f"over the {cap}-byte image cap")
                if length and length.isdigit() and len(body) < int(length):
                    raise FetchError(f"truncated: {len(body)} of {length} bytes", retry=True)
                return 200, body, resp.headers
            except (socket.timeout, TimeoutError):
                raise FetchError(f"timed out (connect {self.connect_timeout:g}s, read {self.read_timeout:g}s)",
                                 retry=True) from None
            except http.client.IncompleteRead as e:
                raise FetchError(f"truncated: {len(e.partial)} bytes, then the connection closed", retry=True) from None
            except (ConnectionError, http.client.HTTPException, ssl.SSLError, OSError) as e:
                raise FetchError(f"connection failed: {type(e).__name__}: {e}", retry=True) from None
            finally:
                conn.close()
        raise FetchError(f"more than {self.max_redirects} redirects")

    def _address(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise FetchError(f"cannot resolve {host}: {e}", retry=True) from None
        ips = [info[4][0] for info in infos]
        if not self.allow_private:
            bad = [ip for ip in ips if not ipaddress.ip_address(ip.split("%")[0]).is_global]
            if bad:
                raise FetchError(f"{host} resolves to a private, loopback or reserved address ({bad[0]}); "
                                 "refused (allow_private / --allow-private-urls to fetch it)")
        return ips[0]
