"""Shared pieces of the service tests: API keys, an app over the demo models, request headers."""

READ_KEY = "pk_test_read_0123456789"
ADMIN_KEY = "sk_test_admin_0123456789"
SLOW_KEY = "pk_test_slow_0123456789"
KEYS_TOML = f"""
[[key]]
name = "browser"
key = "{READ_KEY}"
role = "read"
rate = 1000

[[key]]
name = "ops"
key = "{ADMIN_KEY}"
role = "admin"
rate = 1000

[[key]]
name = "slow"
key = "{SLOW_KEY}"
role = "read"
rate = 0.5
burst = 2
"""


def make_app(served, tmp_path, model=None, **kw):
    from recsys.serve import create_app
    kw.setdefault("keys", served.keys)
    return create_app(model or served.hybrid, catalog=served.catalog, images_root=served.images_root,
                      state_path=tmp_path / "changes.sqlite", **kw)


def admin():
    return {"X-API-Key": ADMIN_KEY}


def read():
    return {"X-API-Key": READ_KEY}


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``visrec serve`` in a subprocess on a loopback port (a real socket, a real uvicorn)."""

    def __init__(self, *args, env=None, cwd=None):
        import os
        import subprocess
        import sys
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "recsys.cli", "serve", "--port", str(self.port), *args],
                                     env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=120.0):
        import time

        import httpx
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.proc.stdout.read().decode(errors='replace')}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the server did not become ready")

    def output(self) -> str:
        self.stop()
        return self.proc.stdout.read().decode(errors="replace")

    def kill(self):
        import signal
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except Exception:
                self.kill()
