import os

import pytest

os.environ.setdefault("SHORTCUTBENCH_PROGRESS", "0")


@pytest.fixture(autouse=True, scope="session")
def _bench_cache(tmp_path_factory):
    os.environ.setdefault("SHORTCUTBENCH_CACHE", str(tmp_path_factory.mktemp("bench-zoo")))
    yield
