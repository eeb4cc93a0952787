"""A corpus of bad inputs across the commands. Each case asserts the exit status, a message naming the
file / line / id / image and the reason, and -- where a run goes on -- that the good rows' output is
complete and unchanged. Everything is generated here; nothing comes from ../shared."""

import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main
from tests.helpers import make_image

GOOD = ["a", "b", "c", "d"]
COLOURS = {"a": (220, 30, 30), "b": (30, 200, 30), "c": (30, 30, 220), "d": (200, 200, 30)}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop")
    (root / "img").mkdir()
    for i, (k, col) in enumerate(COLOURS.items()):
        make_image(root / "img" / f"{k}.png", col, ["square", "disc", "stripes", "square"][i], size=(48, 48))
    pd.DataFrame({"item_id": GOOD, "image": [f"img/{k}.png" for k in GOOD]}).to_csv(root / "catalog.csv", index=False)
    rows = [(u, i) for u in ("u1", "u2", "u3") for i in GOOD[:3]] + [("u4", "d")]
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(root / "inter.csv", index=False)
    cache = root / "cache"
    assert main(["embed", "--catalog", str(root / "catalog.csv"), "--out", str(root / "good.npz"),
                 "--cache", str(cache)]) == 0
    assert main(["train", "--catalog", str(root / "catalog.csv"), "--interactions", str(root / "inter.csv"),
                 "--model", "visual", "--cache", str(cache), "--out", str(root / "model")]) == 0
    return root


def good_vectors(shop):
    with np.load(shop / "good.npz") as z:
        return dict(zip(z["item_ids"].tolist(), z["vectors"]))


def run(argv, capsys):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


def embed_rows(shop, tmp_path, capsys, extra_rows, *, extra=(), env=None):
    """`visrec embed` on the good catalog plus ``extra_rows`` (item_id, image); returns (rc, text, vectors)."""
    rows = [(k, f"img/{k}.png") for k in GOOD] + list(extra_rows)
    pd.DataFrame(rows, columns=["item_id", "image"]).to_csv(shop / "case.csv", index=False)
    out = tmp_path / "e.npz"
    rc, text = run(["embed", "--catalog", shop / "case.csv", "--out", out, "--cache", shop / "cache", *extra], capsys)
    vecs = None
    if rc == 0:
        with np.load(out) as z:
            vecs = dict(zip(z["item_ids"].tolist(), zip(z["vectors"], z["present"])))
    return rc, text, vecs


def assert_good_items_unchanged(shop, vecs):
    ref = good_vectors(shop)
    for k in GOOD:
        v, present = vecs[k]
        assert present and np.array_equal(v, ref[k]), k


# -- images: one bad image is one skipped item, never the others --------------------------------------
def _bad_images(shop, tmp_path):
    (shop / "img" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    png = (shop / "img" / "a.png").read_bytes()
    (shop / "img" / "trunc.png").write_bytes(png[: len(png) // 2])
    (shop / "img" / "text.jpg").write_text("this is not a picture")
    (shop / "img" / "empty.png").write_bytes(b"")
    (shop / "img" / "dir.png").mkdir(exist_ok=True)
    if not (shop / "img" / "fifo.png").exists():
        os.mkfifo(shop / "img" / "fifo.png")
    make_image(shop.parent / "outside.png", (1, 2, 3))
    if not (shop / "img" / "link.png").exists():
        os.symlink(shop.parent / "outside.png", shop / "img" / "link.png")
    return {
        "missing": ("img/none.png", "file not found"),
        "corrupt": ("img/corrupt.png", "corrupt|not an image|cannot be decoded"),
        "truncated": ("img/trunc.png", "corrupt or truncated|cannot be decoded"),
        "text": ("img/text.jpg", "not an image"),
        "empty": ("img/empty.png", "empty file"),
        "folder": ("img/dir.png", "is a folder"),
        "fifo": ("img/fifo.png", "not a regular file"),
        "device": ("/dev/zero", "outside the images root"),
        "dotdot": ("../outside.png", "outside the images root"),
        "absolute": (str(shop.parent / "outside.png"), "outside the images root"),
        "symlink": ("img/link.png", "outside the images root"),
        "noimage": ("", "no image given"),
    }


IMAGE_CASES = ["missing", "corrupt", "truncated", "text", "empty", "folder", "fifo", "device", "dotdot", "absolute",
               "symlink", "noimage"]


@pytest.mark.parametrize("case", IMAGE_CASES)
def test_bad_image_is_one_skipped_item(shop, tmp_path, capsys, case):
    path, reason = _bad_images(shop, tmp_path)[case]
    rc, text, vecs = embed_rows(shop, tmp_path, capsys, [("bad", path)])
    assert rc == 0, text
    assert re.search(rf"bad: .*({reason})", text), text  # the item, its path and the reason on stderr
    assert not vecs["bad"][1]
    assert_good_items_unchanged(shop, vecs)
    skipped = [json.loads(x) for x in (tmp_path / "e.npz.skipped.jsonl").read_text().splitlines()]
    assert [s["item_id"] for s in skipped] == ["bad"]


def test_oversized_image_is_refused_unread(shop, tmp_path, capsys, monkeypatch):
    from PIL import Image
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(shop / "img" / "big.png")  # about 120 kB: incompressible
    monkeypatch.setenv("VISREC_MAX_IMAGE_BYTES", "3000")
    rows = [("big", "img/big.png")]
    pd.DataFrame(rows, columns=["item_id", "image"]).to_csv(shop / "case.csv", index=False)
    argv = ["embed", "--catalog", shop / "case.csv", "--out", tmp_path / "e.npz", "--cache", tmp_path]
    rc, text = run(argv, capsys)
    assert rc == 0 and re.search(r"big: .*file too large \(\d[\d,]* bytes > 3,000", text), text


def test_decompression_bomb_is_refused(shop, tmp_path, capsys):
    from PIL import Image
    Image.new("1", (12000, 12000)).save(shop / "img" / "bomb.png")  # 144 Mpx, a few kB on disk
    rc, text, vecs = embed_rows(shop, tmp_path, capsys, [("bomb", "img/bomb.png")])
    assert rc == 0 and re.search(r"bomb: .*decompression bomb", text) and not vecs["bomb"][1]
    assert_good_items_unchanged(shop, vecs)


def test_allow_outside_root_reads_the_outside_image(shop, tmp_path, capsys):
    _bad_images(shop, tmp_path)
    rc, text, vecs = embed_rows(shop, tmp_path, capsys, [("out", "../outside.png")], extra=["--allow-outside-root"])
    assert rc == 0 and vecs["out"][1]


# -- catalog tables -------------------------------------------------------------------------------------
CATALOG_CASES = {
    "no item_id column": ("code,image\na,img/a.png\n", 2, r"case\.csv: no 'item_id' column.*--columns item_id="),
    "empty id": ("item_id,image\na,img/a.png\n,img/b.png\n", 2,
                 r"case\.csv: line 3: column 'item_id': missing item id"),
    "bad price": ("item_id,image,price\na,img/a.png,1\nb,img/b.png,cheap\n", 2,
                  r"case\.csv: line 3: column 'price': not a number: 'cheap'"),
    "blank lines": ("item_id,image,price\n\na,img/a.png,1\n\nb,img/b.png,x\n", 2, r"case\.csv: line 5: column 'price'"),
    "quoted newline": ('item_id,image,title,price\na,img/a.png,"two\nlines",1\nb,img/b.png,t,x\n', 2,
                       r"case\.csv: line 4: column 'price'"),
    "empty file": ("", 2, r"case\.csv: the file is empty"),
    "header only": ("item_id,image\n", 0, r"embedded 0/0 items"),
    "duplicate id": ("item_id,image\na,img/a.png\na,img/b.png\n", 0, r"line 3: item_id: duplicate of line 2"),
    "NA id kept": ("item_id,image\nNA,img/a.png\nnull,img/b.png\n", 0, r"embedded 2/2 items"),
    "unparsable csv": ('item_id,image\n"a,img/a.png\n', 2, r"case\.csv: "),
}


@pytest.mark.parametrize("case", list(CATALOG_CASES))
def test_catalog_defects_named_by_file_and_line(shop, tmp_path, capsys, case):
    text_in, want_rc, pattern = CATALOG_CASES[case]
    (shop / "case.csv").write_text(text_in)
    rc, text = run(["embed", "--catalog", shop / "case.csv", "--out", tmp_path / "e.npz", "--cache", shop / "cache"],
                   capsys)
    assert rc == want_rc and re.search(pattern, text), text


def test_duplicate_id_keeps_the_first_row_whole(shop, tmp_path, capsys):
    (shop / "case.csv").write_text("item_id,image\na,img/a.png\na,img/b.png\nb,img/b.png\n")
    rc, text = run(["embed", "--catalog", shop / "case.csv", "--out", tmp_path / "e.npz", "--cache", shop / "cache"],
                   capsys)
    with np.load(tmp_path / "e.npz") as z:
        assert rc == 0 and z["item_ids"].tolist() == ["a", "b"]
        np.testing.assert_array_equal(z["vectors"][0], good_vectors(shop)["a"])  # a's first row: its own image


@pytest.mark.parametrize("bad", [("not utf-8", b"item_id,image\na,caf\xe9.png\n", r"case\.csv: not UTF-8"),
                                 ("xlsx", None, r"unsupported table format '\.xlsx'"),
                                 ("folder", None, r"is a folder"), ("missing", None, r"no such file")])
def test_catalog_file_problems(shop, tmp_path, capsys, bad):
    name, data, pattern = bad
    path = {"not utf-8": shop / "case.csv", "xlsx": shop / "c.xlsx", "folder": shop / "img",
            "missing": shop / "nope.csv"}[name]
    if data is not None:
        path.write_bytes(data)
    if name == "xlsx":
        path.write_bytes(b"PK")
    rc, text = run(["embed", "--catalog", path, "--out", tmp_path / "e.npz", "--cache", shop / "cache"], capsys)
    assert rc == 2 and re.search(pattern, text), text


# -- interactions ---------------------------------------------------------------------------------------
INTERACTION_CASES = {
    "no user_id": ("shopper,item_id\nu1,a\n", r"inter_case\.csv: missing column\(s\) \[.user_id.\].*--columns user_id"),
    "empty user": ("user_id,item_id\nu1,a\n,b\n", r"line 3: column 'user_id': missing user id"),
    "weight text": ("user_id,item_id,weight\nu1,a,1\nu2,b,lots\n", r"line 3: column 'weight'.*'lots'"),
    "weight negative": ("user_id,item_id,weight\nu1,a,-2\n", r"line 2: column 'weight'.*'-2'"),
    "weight overflow": ("user_id,item_id,weight\nu1,a,1e39\n", r"line 2: column 'weight'.*3\.4e38"),
    "unknown event": ("user_id,item_id,event\nu1,a,view\nu1,b,teleport\n", r"line 3: column 'event'.*teleport"),
    "bad timestamp": ("user_id,item_id,timestamp\nu1,a,yesterday-ish\n", r"line 2: column 'timestamp'"),
    "future timestamp": ("user_id,item_id,timestamp\nu1,a,1600000000\nu1,b,1e20\n",
                         r"line 3: column 'timestamp': in the future"),
    "unknown item": ("user_id,item_id\nu1,a\nu1,zzz\n", r"zzz"),
}


@pytest.mark.parametrize("case", list(INTERACTION_CASES))
def test_interaction_defects_stop_train_naming_the_line(shop, tmp_path, capsys, case):
    text_in, pattern = INTERACTION_CASES[case]
    (shop / "inter_case.csv").write_text(text_in)
    rc, text = run(["train", "--catalog", shop / "catalog.csv", "--interactions", shop / "inter_case.csv",
                    "--model", "popularity", "--out", tmp_path / "m"], capsys)
    assert rc == 2 and re.search(pattern, text), text
    assert not (tmp_path / "m").exists()


def test_skip_mode_trains_on_the_good_rows_and_reports_the_rest(shop, tmp_path, capsys):
    (shop / "inter_case.csv").write_text("user_id,item_id,weight\nu1,a,1\nu1,zzz,1\nu2,b,oops\nNA,c,2\n")
    rc, text = run(["train", "--catalog", shop / "catalog.csv", "--interactions", shop / "inter_case.csv",
                    "--model", "popularity", "--on-error", "skip", "--out", tmp_path / "m"], capsys)
    assert rc == 0 and "line 4" in text, text
    users = json.loads((tmp_path / "m" / "users.json").read_text())
    assert sorted(users) == ["NA", "u1"]  # "NA" is a user id; u2's only row was skipped


def test_millisecond_timestamps_are_read_and_said(shop, tmp_path, capsys):
    (shop / "inter_case.csv").write_text("user_id,item_id,timestamp\nu1,a,1600000000000\nu2,b,1600000100000\n")
    rc, text = run(["train", "--catalog", shop / "catalog.csv", "--interactions", shop / "inter_case.csv",
                    "--model", "recent-popularity", "--out", tmp_path / "m"], capsys)
    assert rc == 0 and "milliseconds" in text, text


# -- command-line arguments and paths --------------------------------------------------------------------
def _arg_cases(shop, tmp_path):
    model, blocker = shop / "model", tmp_path / "file"
    blocker.write_text("x")
    (tmp_path / "users.txt").write_text("u1\nghost\n")
    (shop / "excl.csv").write_text("user_id,item_id\nu1,a\n,b\n")
    return {
        "k zero": (["recommend", "--model", model, "--k", "0", "--out", tmp_path / "r.jsonl"],
                   r"--k: must be at least 1"),
        "k negative": (["similar", "--model", model, "--k", "-2", "--out", tmp_path / "s.jsonl"],
                       r"--k: must be at least 1"),
        "unknown model": (["train", "--catalog", shop / "catalog.csv", "--interactions", shop / "inter.csv",
                           "--model", "deepfm", "--out", tmp_path / "m"], r"unknown model 'deepfm'; choose from"),
        "unknown param": (["train", "--catalog", shop / "catalog.csv", "--interactions", shop / "inter.csv",
                           "--model", "ease", "--param", "lambda=3", "--out", tmp_path / "m"],
                          r"model 'ease' has no parameter\(s\) 'lambda'; its parameters: lambda_"),
        "param without =": (["train", "--catalog", shop / "catalog.csv", "--interactions", shop / "inter.csv",
                             "--param", "lambda_", "--out", tmp_path / "m"], r"--param expects key=value"),
        "no catalog": (["similar", "--out", tmp_path / "s.jsonl"], r"give --catalog CATALOG.csv and/or --images-root"),
        "out under a file": (["similar", "--model", model, "--out", blocker / "s.jsonl"], r"file"),
        "unknown user": (["recommend", "--model", model, "--users", "ghost", "--out", tmp_path / "r.jsonl"],
                         r"unknown user id\(s\): 'ghost'"),
        "users file with unknown": (["recommend", "--model", model, "--users", f"@{tmp_path / 'users.txt'}",
                                     "--out", tmp_path / "r.jsonl"], r"'ghost'"),
        "users file missing": (["recommend", "--model", model, "--users", "@/nonexistent/users.txt",
                                "--out", tmp_path / "r.jsonl"], r"/nonexistent/users\.txt"),
        "no model folder": (["recommend", "--model", tmp_path / "nothing", "--out", tmp_path / "r.jsonl"],
                            r"not a saved visrec model"),
        "exclude bad row": (["recommend", "--model", model, "--exclude", shop / "excl.csv",
                             "--out", tmp_path / "r.jsonl"],
                            r"excl\.csv: line 3: column 'user_id': missing user id"),
        "n-boot zero": (["compare", "--a", "a", "--b", "b", "--test", "t", "--out", tmp_path, "--n-boot", "0"],
                        r"--n-boot: must be at least 1"),
        "alpha above one": (["compare", "--a", "a", "--b", "b", "--test", "t", "--out", tmp_path, "--alpha", "2"],
                            r"--alpha: must be above 0\.0 and below 1\.0"),
        "also without name": (["compare", "--a", shop / "l.jsonl", "--b", shop / "l.jsonl",
                               "--test", shop / "inter.csv",
                               "--also", "nonamehere", "--out", tmp_path / "cmp"], r"--also takes NAME=PATH"),
        "csv dataset without interactions": (["evaluate", "--dataset", "csv", "--catalog", shop / "catalog.csv",
                                              "--out", tmp_path / "ev"],
                                             r"give --interactions FILE \(or --dataset movielens-1m\|hm\|demo\)"),
        "compare unknown model": (["evaluate", "--models", "popularity,als", "--compare", "als,ghost",
                                   "--out", tmp_path / "ev"], r"--compare needs two of the evaluated models"),
    }


ARG_CASES = ["k zero", "k negative", "unknown model", "unknown param", "param without =", "no catalog",
             "out under a file", "unknown user", "users file with unknown", "users file missing", "no model folder",
             "exclude bad row", "n-boot zero", "alpha above one", "also without name",
             "csv dataset without interactions", "compare unknown model"]


@pytest.mark.parametrize("case", ARG_CASES)
def test_argument_and_path_problems_exit_2_with_the_reason(shop, tmp_path, capsys, case):
    argv, pattern = _arg_cases(shop, tmp_path)[case]
    try:
        rc, text = run(argv, capsys)
    except SystemExit as e:  # argparse
        rc, text = e.code, capsys.readouterr().err
    assert rc == 2 and re.search(pattern, text), text
    assert "Traceback" not in text


# -- damaged model folders ------------------------------------------------------------------------------
def _damage(folder, how):
    if how == "truncated state":
        f = folder / "state.npz"
        f.write_bytes(f.read_bytes()[:64])
    elif how == "nan in state":
        with np.load(folder / "state.npz") as z:
            st = {k: z[k].copy() for k in z.files}
        k = next(k for k, v in st.items() if v.dtype.kind == "f")
        st[k].flat[0] = np.nan
        np.savez(folder / "state.npz", **st)
        (folder / "manifest.json").unlink()
    elif how == "fewer users listed":
        users = json.loads((folder / "users.json").read_text())
        (folder / "users.json").write_text(json.dumps(users[:-1]))
        (folder / "manifest.json").unlink()
    elif how == "format as string":
        meta = json.loads((folder / "model.json").read_text())
        meta["format"] = "1"
        (folder / "model.json").write_text(json.dumps(meta))
        (folder / "manifest.json").unlink()
    elif how == "items.json missing":
        (folder / "items.json").unlink()


@pytest.mark.parametrize("how, pattern", [
    ("truncated state", r"state\.npz: \d+ bytes, the manifest says"),
    ("nan in state", r"state\.npz: array '.*' holds 1 non-finite"),
    ("fewer users listed", r"user_items\.npz: shape .* does not match users\.json"),
    ("format as string", r"model\.json: \"format\" is '1'"),
    ("items.json missing", r"items\.json: missing"),
])
def test_damaged_model_folder_is_named_not_served(shop, tmp_path, capsys, how, pattern):
    import shutil
    shutil.copytree(shop / "model", tmp_path / "m")
    _damage(tmp_path / "m", how)
    rc, text = run(["recommend", "--model", tmp_path / "m", "--out", tmp_path / "r.jsonl"], capsys)
    assert rc == 2 and re.search(pattern, text), text
    assert not (tmp_path / "r.jsonl").exists()


# -- list files for compare -----------------------------------------------------------------------------
@pytest.mark.parametrize("content, pattern", [
    ('{"user_id": "u1", "items": ["a"]}\nnot json\n', r"l\.jsonl: line 2: not valid JSON"),
    ('{"user_id": "u1", "items": ["a"]}\n{"user_id": "u1", "items": ["b"]}\n', r"line 2: user 'u1' already listed"),
    ('{"items": ["a"]}\n', r"line 1: expected an object with 'user_id'"),
    ('{"user_id": "u1", "items": "a"}\n', r"line 1: 'items' must be a list"),
    ("", r"l\.jsonl: the file holds no lists \(empty\)"),
])
def test_bad_list_files_name_the_line(shop, tmp_path, capsys, content, pattern):
    (tmp_path / "l.jsonl").write_text(content)
    rc, text = run(["compare", "--a", tmp_path / "l.jsonl", "--b", tmp_path / "l.jsonl", "--test", shop / "inter.csv",
                    "--out", tmp_path / "cmp"], capsys)
    assert rc == 2 and re.search(pattern, text), text


# -- search by photo ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, pattern", [("corrupt", r"corrupt|not an image|cannot be decoded"),
                                           ("missing", r"file not found")])
def test_bad_query_photo_is_named(shop, tmp_path, capsys, kind, pattern):
    q = tmp_path / "q.jpg"
    if kind == "corrupt":
        q.write_bytes(b"\xff\xd8\xff" + os.urandom(100))
    rc, text = run(["search", "--model", shop / "model", "--image", q], capsys)
    assert rc == 2 and re.search(pattern, text) and "q.jpg" in text, text
