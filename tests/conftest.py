import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests train into a throwaway zoo cache, never the user's."""
    os.environ["SHORTCUTBENCH_CACHE"] = str(tmp_path_factory.mktemp("zoo-cache"))
    os.environ["SHORTCUTBENCH_PROGRESS"] = "0"
    yield
