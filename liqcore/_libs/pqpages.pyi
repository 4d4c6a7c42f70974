"""Type stub of liqcore._libs.pqpages (a Parquet column chunk's page headers, DELTA_BINARY_PACKED and
RLE / bit-packed hybrid streams)."""
from typing import Any

import numpy as np

PAGE_DTYPE: np.dtype

def page_headers(buf: Any, pos: int, end: int) -> np.ndarray: ...
def delta_binary_packed(buf: Any, pos: int, end: int, n: int) -> tuple[np.ndarray, int]: ...
def rle_hybrid(buf: Any, pos: int, end: int, bit_width: int, n: int) -> np.ndarray: ...
