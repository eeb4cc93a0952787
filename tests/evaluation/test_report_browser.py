"""Render the A/B report in headless Chromium: the table and the thumbnails must show."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.helpers import better_lists, random_lists, make_shop, make_world, write_jsonl

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, encoding="utf-8",
                          timeout=90)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH")
def test_report_renders_table_and_thumbnails(tmp_path):
    from evaluation.compare import compare_files
    train, test = make_world(n_pairs=60)
    cat, feats = make_shop(tmp_path)
    rng = np.random.default_rng(0)
    a = random_lists(test, rng)
    comp = compare_files({"popularity": write_jsonl(tmp_path / "a.jsonl", a),
                          "als": write_jsonl(tmp_path / "b.jsonl", better_lists(test, a, rng))},
                         test, train, catalog=cat, features=feats, n_boot=200)
    out = comp.write(tmp_path / "out", n_sample_users=3)
    page = out["report"].read_text()
    assert not re.search(r"<(script|link|iframe)\b", page)  # self-contained
    assert not re.search(r"(src|href)=['\"]https?:", page)
    url = out["report"].resolve().as_uri()

    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    table = re.search(r"<table id=\"metrics\">(.*?)</table>", html, re.S)
    assert table, "metrics table missing from the rendered DOM"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    assert len(rows) == 4  # header, two models, one lift row
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", r, re.S)]
             for r in rows]
    assert [c[0] for c in cells] == ["model", "■ popularity", "■ als", "lift als vs popularity"]
    header = cells[0]
    means = comp.means()
    for row, name in ((cells[1], "popularity"), (cells[2], "als")):
        for m in ("ndcg@10", "recall@10", "hitrate@10"):
            assert row[header.index(m)] == f"{means[name][m]:.4f}", (name, m)
    lift = next(r for r in comp.tests if r["segment"] == "all" and r["metric"] == "ndcg@10")
    assert cells[3][header.index("ndcg@10")] == f"{100 * lift['rel_lift']:+.1f}% *"  # significant: planted better
    imgs = re.findall(r"<img [^>]*src=\"data:image/jpeg;base64,", html)
    assert len(imgs) >= 3 * 4  # sample users: history, test items and two lists
    assert html.count("<svg") >= 8  # lift bars, 6 metric@k curves, segments, popularity

    png = tmp_path / "report.png"
    shot = _chromium(tmp_path, f"--screenshot={png}", "--window-size=1400,3000", url)
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    img = np.asarray(Image.open(png).convert("RGB"), dtype=np.float64)
    assert img.shape[0] >= 1000 and img.std() > 10  # not blank
    assert len(np.unique(img.reshape(-1, 3)[::7], axis=0)) > 50  # text, charts and photos, not one colour
