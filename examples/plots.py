"""The one way the examples finish and write a figure."""

import matplotlib

matplotlib.use("Agg")  # files only: no screen needed
import matplotlib.pyplot as plt  # noqa: E402


def save(figure, path, dpi=90, axes=None, legend_size=None):
    """Tidy ``figure`` (a borderless legend and a light grid on ``axes``, if
    given), write it to ``path`` as PNG and free it."""
    if axes is not None:
        axes.legend(frameon=False, fontsize=legend_size)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
