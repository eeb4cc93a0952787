"""``visrec serve`` as a real process on a loopback socket: restarts, kill -9, uploads, hot swap."""

import io
import os
import signal
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from .serving import Server, admin, read


def _serve(served, tmp_path, *extra, env=None, cwd=None):
    return Server("--model", str(served.hybrid), "--catalog", str(served.catalog), "--images-root",
                  str(served.images_root), "--state", str(tmp_path / "changes.sqlite"), "--no-warm",
                  "--keys", str(served.keys), *extra, env=env, cwd=cwd)


def test_acknowledged_changes_survive_kill_9(served_models, tmp_path, demo):
    s = _serve(served_models, tmp_path).wait_ready()
    try:
        r = httpx.patch(f"{s.url}/v1/items/fm0003", json={"in_stock": False}, headers=admin())
        assert r.status_code == 200
        img = demo.catalog.df["image"].iloc[5]
        r = httpx.post(f"{s.url}/v1/items", json={"item_id": "added-1", "image_path": img, "title": "Added"},
                       headers=admin(), timeout=30)
        assert r.status_code == 201
    finally:
        s.kill()  # no shutdown, no flush: only what was committed survives
    s = _serve(served_models, tmp_path).wait_ready()
    try:
        st = httpx.get(f"{s.url}/v1/items/fm0003", headers=read()).json()
        assert st["in_stock"] is False
        added = httpx.get(f"{s.url}/v1/items/added-1", headers=read()).json()
        assert added["title"] == "Added" and added["has_image"]
        nb = httpx.get(f"{s.url}/v1/items/added-1/similar", params={"k": 3}, headers=read())
        assert nb.status_code == 200 and len(nb.json()["items"]) == 3
    finally:
        s.stop()


def _snapshot(*folders):
    out = {}
    for f in folders:
        for dirpath, _, files in os.walk(f):
            for name in files:
                p = os.path.join(dirpath, name)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


def test_uploaded_photos_never_touch_the_disk(served_models, tmp_path):
    """A 3 MB photo (past Starlette's 1 MB spool threshold) searched for: no file is created or
    changed in any folder the server may write (its temp dir, home, working dir, state file's
    folder), and nothing of the upload reaches its log."""
    tmp, home, cwd = (tmp_path / n for n in ("tmp", "home", "cwd"))
    for d in (tmp, home, cwd):
        d.mkdir()
    s = _serve(served_models, tmp_path, "--log-level", "debug", cwd=cwd,
               env={"TMPDIR": str(tmp), "HOME": str(home), "TEMP": str(tmp), "TMP": str(tmp)}).wait_ready()
    try:
        rng = np.random.default_rng(0)
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (1000, 1000, 3), dtype=np.uint8)).save(buf, "PNG")
        photo = buf.getvalue()
        assert len(photo) > 2 * 1024 * 1024
        # the server's TMPDIR (where Python's tempfile, and so any spooled upload, would go), its home,
        # working dir and state folder, and shared memory; not the machine-wide /tmp, which other
        # processes on a CI machine may write at the same moment
        watched = (tmp, home, cwd, tmp_path, "/dev/shm")
        before = _snapshot(*watched)
        r = httpx.post(f"{s.url}/v1/search/image", params={"k": 3}, headers=read(), timeout=60,
                       files={"image": ("secret-holiday-photo.png", photo, "image/png")})
        assert r.status_code == 200
        after = _snapshot(*watched)
        changed = {p for p in set(after) | set(before) if after.get(p) != before.get(p)}
        assert not changed, f"files changed during the upload: {sorted(changed)[:10]}"
    finally:
        log = s.output()
    assert "secret-holiday-photo" not in log


def test_hot_reload_under_load_fails_no_request(served_models, tmp_path):
    s = _serve(served_models, tmp_path).wait_ready()
    errors, models, stop = [], set(), threading.Event()

    def hammer():
        with httpx.Client(base_url=s.url, headers=read(), timeout=30) as c:
            while not stop.is_set():
                try:
                    r = c.get("/v1/users/shopper001/recommendations", params={"k": 10})
                    if r.status_code != 200:
                        errors.append(r.status_code)
                    else:
                        models.add(r.json()["model"].split("@")[0])
                except httpx.HTTPError as e:
                    errors.append(repr(e))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for target in (served_models.ease, served_models.hybrid, served_models.ease):
            r = httpx.post(f"{s.url}/v1/admin/reload", json={"model_dir": str(target)}, headers=admin(), timeout=120)
            assert r.status_code == 200, r.text
            time.sleep(0.5)
        bad = httpx.post(f"{s.url}/v1/admin/reload", json={"model_dir": str(tmp_path / "nothing")}, headers=admin(),
                         timeout=60)
        assert bad.status_code == 422 and "still serving" in bad.json()["detail"]
        assert httpx.get(f"{s.url}/readyz").json()["model"].startswith("ease@")
        os.kill(s.proc.pid, signal.SIGHUP)  # reload the same folder
        deadline = time.time() + 60
        while time.time() < deadline:
            text = httpx.get(f"{s.url}/metrics", headers=admin()).text
            if 'visrec_model_reloads_total{outcome="ok"} 4.0' in text:
                break
            time.sleep(0.2)
        assert 'visrec_model_reloads_total{outcome="ok"} 4.0' in text
    finally:
        stop.set()
        for t in threads:
            t.join()
        s.stop()
    assert not errors and models == {"hybrid", "ease"}


def test_refuses_to_listen_publicly_without_keys(served_models):
    s = Server("--model", str(served_models.ease), "--host", "0.0.0.0",
               env={"VISREC_READ_KEY": "", "VISREC_ADMIN_KEY": ""})
    assert s.proc.wait(120) == 2
    assert "without API keys" in s.proc.stdout.read().decode()


@pytest.mark.parametrize("bad", ["missing.toml", "bad.toml"])
def test_a_bad_keys_file_is_named(served_models, tmp_path, bad):
    (tmp_path / "bad.toml").write_text("[[key]]\nkey = 'x'\n")
    s = Server("--model", str(served_models.ease), "--keys", str(tmp_path / bad))
    assert s.proc.wait(120) == 2
    assert bad in s.proc.stdout.read().decode()
