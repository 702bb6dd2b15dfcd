"""``load_digits``: scikit-learn's bundled 8x8 handwritten digits, as float32/int64 arrays."""
from __future__ import annotations

import numpy as np


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8x8 digit images bundled with scikit-learn: returns ``(X, y)``.

    ``X`` is float32 of shape (1797, 64) with pixel values 0..16, ``y`` int64 of shape
    (1797,) with classes 0..9.  Needs scikit-learn (from a checkout: ``pip install -e '.[demos]'``);
    the data ships inside it, so nothing is downloaded.

    >>> X, y = load_digits()  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((1797, 64), dtype('float32'), array([0, 1, 2, 3, 4]))
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as e:
        raise ImportError("load_digits needs scikit-learn: pip install scikit-learn "
                          "(or, from a microgradnn checkout, pip install -e '.[demos]')") from e
    bunch = sklearn_load_digits()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)
