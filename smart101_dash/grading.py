"""Clinical grading rules shared by the derivations, the validator and the demo generator."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def magic_grade(skin: int, liver: int, upper_gi: int, lower_gi: int) -> int:
    """Overall acute GvHD grade 0-4 (0, I-IV) from MAGIC organ stages (Harris et al., BBMT 2016).

    IV: skin 4, liver 4 or lower GI 4. III: liver 2-3 or lower GI 2-3. II: skin 3, liver 1,
    upper GI 1 or lower GI 1. I: skin 1-2 with no other organ involved. 0: no organ involved.
    """
    if skin >= 4 or liver >= 4 or lower_gi >= 4:
        return 4
    if liver >= 2 or lower_gi >= 2:
        return 3
    if skin == 3 or liver == 1 or upper_gi >= 1 or lower_gi == 1:
        return 2
    if skin >= 1:
        return 1
    return 0


def magic_grades(
    skin: npt.ArrayLike, liver: npt.ArrayLike, upper_gi: npt.ArrayLike, lower_gi: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """`magic_grade` over arrays of stages (missing stages must be filled by the caller)."""
    s, li, u, lo = (np.asarray(a, dtype=np.int64) for a in (skin, liver, upper_gi, lower_gi))
    return np.select(
        [(s >= 4) | (li >= 4) | (lo >= 4), (li >= 2) | (lo >= 2),
         (s == 3) | (li == 1) | (u >= 1) | (lo == 1), s >= 1],
        [4, 3, 2, 1],
        default=0,
    ).astype(np.int64)
