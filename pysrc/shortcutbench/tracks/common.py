"""Data plumbing shared by tracks: the per-process Colored-MNIST (built in :mod:`shortcutbench.data`,
where the layers below the tracks read it too)."""
from ..data.colored_mnist import cached_colored_mnist as colored_mnist  # noqa: F401
