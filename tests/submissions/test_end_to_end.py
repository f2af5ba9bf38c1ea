"""The worked example end to end: a zoo model exported as a submission gets the zoo model's
numbers on the shortcut track, appears on every table and on the static site, and the site works
in a real (headless Chromium) browser."""
import csv
import functools
import http.server
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from shortcutbench.cli import main
from shortcutbench.results import Store

SUB = "sub.lazy_cnn.erm.seed0"
NOT_EVALUATED = {"history", "train_time_s", "epochs", "method", "rho", "sweep", "hard_val_acc"}  # training and selection facts of zoo records


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    out = root / "lb"
    assert main(["run", "shortcut", "--out", str(out), "--set", "methods=erm", "--set", "sweep=0"]) == 0
    assert main(["submit", "--export-zoo", "lazy_cnn.erm", "--seed", "0", str(root / "example")]) == 0
    assert main(["submit", str(root / "example"), "--tracks", "shortcut", "--profile", "quick", "--out", str(out)]) == 0
    assert main(["leaderboard", "--html", "--out", str(out)]) == 0
    return out


def test_exported_zoo_model_gets_the_zoo_numbers(board):
    zoo, sub = sorted(Store.in_dir(board).query("shortcut"), key=lambda r: r.model_id)
    assert (zoo.model_id, sub.model_id) == ("lazy_cnn.erm", SUB)
    assert (zoo.protocol, zoo.data_fingerprint) == (sub.protocol, sub.data_fingerprint)
    assert {k: v for k, v in zoo.metrics.items() if k not in NOT_EVALUATED} == sub.metrics
    assert sub.config["submission"]["hash"] and sub.config["submission"]["uses_group_labels"] is False


def _rows(path):
    with open(path) as f:
        return {r["model"]: r for r in csv.DictReader(f)}


def test_example_on_every_table_with_the_same_numbers(board):
    shortcut = _rows(board / "shortcut.csv")
    for col in ("easy acc", "hard acc", "gap (pp)", "worst-group acc", "colour-following", "labels used"):
        assert shortcut[SUB][col] == shortcut["lazy_cnn.erm"][col], col
    assert shortcut[SUB]["train time (s)"] == "–"
    probe = _rows(board / "shortcut_recolor_probe.csv")
    assert {k: v for k, v in probe[SUB].items() if k != "model"} == \
           {k: v for k, v in probe["lazy_cnn.erm"].items() if k != "model"}
    overall = _rows(board / "overall.csv")
    assert overall[SUB]["shortcut: hard_acc"] == overall["lazy_cnn.erm"]["shortcut: hard_acc"]
    assert overall[SUB]["rank"] == overall["lazy_cnn.erm"]["rank"]  # equal merit, equal rank
    assert overall[SUB]["kind"] == "submission" and overall[SUB]["sanity checks"] == "passed"
    assert overall["lazy_cnn.erm"]["protocols"] == "shortcut.quick.v2 (1 seed)"
    site = (board / "site" / "index.html").read_text()
    assert f"models/{SUB}.html" in site and (board / "site" / "models" / f"{SUB}.html").is_file()


# ------------------------------------------------------------------ the site in a real browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--virtual-time-budget=5000"]


class _Handler(http.server.SimpleHTTPRequestHandler):
    served = []

    def log_request(self, code="-", size="-"):
        self.served.append((self.path.split("#")[0], int(code)))


@pytest.fixture(scope="module")
def server(board):
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run does)")
    handler = functools.partial(_Handler, directory=str(board / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _dom(url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        res = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "<html" in res.stdout, res.stderr[-2000:]
    return res.stdout


def _table(dom: str, table_id: str):
    body = re.search(rf'<table[^>]*id="{table_id}"[^>]*>.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", row)] for row in re.findall(r"<tr>(.*?)</tr>", body)]


def test_tables_render_and_sort(server, board):
    n_rows = len(_rows(board / "overall.csv"))
    asc = _table(_dom(f"{server}/index.html#sort=t-overall:1:asc"), "t-overall")
    desc_dom = _dom(f"{server}/index.html#sort=t-overall:1:desc")
    desc = _table(desc_dom, "t-overall")
    assert len(asc) == n_rows == 2 and [r[1] for r in asc] == sorted(r[1] for r in asc)
    assert [r[1] for r in desc] == sorted((r[1] for r in asc), reverse=True)
    assert 'data-sorted="1:desc"' in desc_dom and 'aria-sort="descending"' in desc_dom
    track = _dom(f"{server}/track-shortcut.html#sort=t-shortcut:4:asc")
    assert {r[0] for r in _table(track, "t-shortcut")} == {"lazy_cnn.erm", SUB}


def test_every_figure_loads(server, board):
    pages = ["index.html", "track-shortcut.html"] + [f"models/{p.name}" for p in (board / "site" / "models").iterdir()]
    n_images = 0
    for page in pages:
        _Handler.served.clear()
        dom = _dom(f"{server}/{page}")
        loaded, total = map(int, re.search(r'data-images="(\d+)/(\d+)"', dom).groups())
        assert loaded == total, page  # the browser decoded every <img>
        srcs = re.findall(r'<img src="([^"]+)"', dom)
        assert len(srcs) == total
        statuses = dict(_Handler.served)
        base = "/" + str(Path(page).parent).strip(".")
        for src in srcs:
            path = str(Path(base) / src).replace("/models/..", "")
            assert statuses.get(path) == 200, (page, src, statuses)
        n_images += total
    assert n_images >= 5  # 3 figures on the track page, 2 on lazy_cnn.erm's page, 1 on the submission's
