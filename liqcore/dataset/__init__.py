"""The dataset: hive-partitioned Parquet files of events; one package for its one format (docs/data.md).

* ``write`` -- writing and converting into a dataset, the manifest of converted files; ``rows`` -- a partition's
  row layout and the merge of two runs of rows with their duplicates; ``lock`` -- the writer lock; ``upgrade`` --
  an older release's partitions rewritten in the layout written now; ``verify`` -- every file judged against its
  checked mark; ``damage`` -- a marked file whose rows changed on disk, refused;
* ``load`` -- :func:`load_events`, the one loader of recordings: files (read by ``io``) and datasets together;
* ``read`` -- reading with filters, the partitions and row counts, the format file;
* ``checked`` -- the check marks and the read of checked files; ``partfile`` -- a partition file judged where it is
  first opened (a Parquet file of the contract), the marked files that are gone; ``decoded`` -- one decoded row group;
  ``ledger`` -- the row groups verified by earlier processes, ``footcache`` -- the footers read by them (both in the
  cache directory);
* ``depth`` -- the depth (DEPTH rows) in its own compact files, written and read by receive time and price;
* ``clock`` -- the clock index in each partition file's footer (each liquidation's clock-setting row).

May import: the contract and vocabulary, the kernels, ``venues``, the cache directory (``cache``) and the
readers of ``io`` (``base``, ``contract``, ``plausible``, ``storage``, ``file_events``, ``load_files``); ``io``
never imports it (the dataset builds on io).  A new piece of the format goes into the module of its side, its
rule into docs/data.md.
"""
from __future__ import annotations

from liqcore._lazy import lazy_exports

_LAZY = {
    "load_events": ("liqcore.dataset.load", "load_events"),
    "write_dataset": ("liqcore.dataset.write", "write_dataset"),
    "convert_to_dataset": ("liqcore.dataset.write", "convert_to_dataset"),
    "upgrade_dataset": ("liqcore.dataset.upgrade", "upgrade_dataset"),
    "verify_dataset": ("liqcore.dataset.verify", "verify_dataset"),
    "read_manifest": ("liqcore.dataset.manifest", "read_manifest"),
    "dataset_lock": ("liqcore.dataset.write", "dataset_lock"),
    "DatasetLocked": ("liqcore.dataset.write", "DatasetLocked"),
    "load_dataset": ("liqcore.dataset.read", "load_dataset"),
    "dataset_info": ("liqcore.dataset.read", "dataset_info"),
    "check_selection": ("liqcore.dataset.read", "check_selection"),
    "is_dataset": ("liqcore.dataset.read", "is_dataset"),
    "load_depth": ("liqcore.dataset.depth", "load_depth"),
    "has_depth": ("liqcore.dataset.depth", "has_depth"),
    "with_depth": ("liqcore.dataset.depth", "with_depth"),
    "write_depth": ("liqcore.dataset.depth", "write_depth"),
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
