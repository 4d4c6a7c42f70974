"""Type stub of liqcore._libs.passage (the window plan's first-passage questions of a block table)."""
import numpy as np

def first_loud(tr_min: np.ndarray, tr_max: np.ndarray, p_min: np.ndarray, p_max: np.ndarray, i0: int, b: int,
               end: int, mode: int, lvl: float, tp: float, grid: float) -> int: ...
def quotes_reach(tr_min: np.ndarray, tr_max: np.ndarray, p_min: np.ndarray, p_max: np.ndarray, kind: np.ndarray,
                 i0: int, a: int, b: int, up: bool, tp: float, grid: float) -> bool: ...
