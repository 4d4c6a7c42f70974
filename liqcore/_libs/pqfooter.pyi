"""Type stub of liqcore._libs.pqfooter (a Parquet footer's FileMetaData -> row counts, schema, key-value
metadata and per-chunk offsets, sizes and statistics)."""
from typing import Any

import numpy as np

CHUNK_DTYPE: np.dtype
MAX_DEPTH: int

def scan_footer(buf: Any) -> dict[str, Any]: ...
