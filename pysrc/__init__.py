"""Pure-Python reference twins of the compiled kernels, written for reading: each is the executable
specification of its kernel and the oracle the kernel's property tests compare against.

:data:`TWINS` pairs every kernel (a Cython source under ``liqcore/``: a ``.pyx`` module, or a ``.pxi``
kernel compiled inside the unit that includes it, ``liqcore/_libs/quantile.pxi`` in
``liqcore._libs.detection``; a Numba module under ``liqcore/_jit/``) with its twin here and names the
kernel entry points the twin mirrors (found in the module the kernel is compiled into);
``tests/kernels/test_twins.py`` fails when a kernel has no row, or a row names something that is
not there.  A new kernel gets its twin module here and one row in :data:`TWINS`, and a property
test comparing the two.  This folder is not installed: ``liqcore`` never imports it.
"""
from __future__ import annotations

#: kernel (its source's dotted path) -> (twin module, ((kernel name, twin name), ...)); ``Class.method`` names a method
TWINS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "liqcore._libs.quantile": ("pysrc.quantile", (("RollingQuantile", "RollingQuantile"),)),
    "liqcore._libs.windows": ("pysrc.windows", (("TimeWindow", "TimeWindow"),)),
    "liqcore._libs.zscore": ("pysrc.zscore", (("RollingZScore", "RollingZScore"),
                                              ("BucketZScore", "BucketZScore"))),
    "liqcore._libs.detector": ("pysrc.detector", (("CascadeDetector", "CascadeDetector"),)),
    "liqcore._libs.xvenue": ("pysrc.xvenue", (("detect", "detect"),)),
    "liqcore._libs.readrows": ("pysrc.readrows", (("quote_rows", "quote_rows"), ("trade_rows", "trade_rows"),
                                                 ("partition_rows", "partition_rows"),
                                                 ("file_columns", "file_columns"), ("natural_pairs", "natural_pairs"))),
    "liqcore._libs.eventscan": ("pysrc.eventscan", (("event_scan", "event_scan"),
                                                   ("clock_witness", "clock_witness"))),
    "liqcore._libs.sections": ("pysrc.sections", (("section_events", "section_events"),
                                                 ("sort_recv", "sort_recv"), ("bulk_keep", "bulk_keep"),
                                                 ("step_scan", "step_scan"), ("last_rows", "last_rows"),
                                                 ("trade_delays", "trade_delays"), ("same_rare", "same_rare"),
                                                 ("merge_events", "merge_events"))),
    "liqcore._libs.pqfooter": ("pysrc.pqfooter", (("scan_footer", "scan_footer"),)),
    "liqcore._libs.passage": ("pysrc.passage", (("first_loud", "first_loud"), ("quotes_reach", "quotes_reach"))),
    "liqcore._libs.pqpages": ("pysrc.pqpages", (("page_headers", "page_headers"),
                                               ("delta_binary_packed", "delta_binary_packed"),
                                               ("rle_hybrid", "rle_hybrid"),
                                               ("decode_chunk", "decode_chunk"),
                                               ("read_placed", "read_placed"))),
    "liqcore.venues._scan": ("pysrc.scan", (("LiveScan", "LiveScan"), ("StreamKeys", "StreamKeys"))),
    "liqcore._jit.features": ("pysrc.features", (("range_max", "range_max"),
                                                 ("history_transform", "history_transform"),
                                                 ("search_right", "search_right"))),
    "liqcore._jit.sim": ("pysrc.execmodel", (  # (the step functions: liqcore._jit.simcore's row)
        ("run_exec", "simulate"),
        ("run_sim", "simulate_records"),
        ("run_cells", "simulate_cells"),
        ("external_cancel", "Model.external_cancel"),
        ("amend_entry", "Model.amend_entry"),
        ("set_exit_levels", "Model.set_exit_levels"),
        ("set_working", "Model.set_working"),
        ("set_open", "Model.set_open"),
    )),
    "liqcore._jit.simcore": ("pysrc.execmodel", (
        ("step_entry", "Model.on_signal"),
        ("step_signal", "Model.on_cascade"),
        ("step_exit", "Model.on_exit"),
        ("step_trade", "Model.on_trade"),
        ("step_print", "Model.on_trade"),
        ("step_quote", "Model.on_quote"),
        ("step_funding", "Model.on_funding"),
        ("step_clock", "Model.on_clock"),
        ("external_entry_fill", "Model.external_entry_fill"),
        ("external_close", "Model.external_close"),
        ("external_reject", "Model.external_reject"),
    )),
    "liqcore._jit.simgrid": ("pysrc.execmodel", (("_on_grid", "on_grid"), ("_tk", "tick"), ("_lot_down", "lot_down"),
                                                 ("_q_units", "q_units"), ("_q_fill", "q_fill"))),
    "liqcore._jit.synth": ("pysrc.synth", (("simulate_symbol", "simulate_symbol"),
                                           ("make_distinct", "make_distinct"),
                                           ("assemble", "assemble"),
                                           ("recv_times", "recv_times"),
                                           ("book_quotes", "book_quotes"))),
    "liqcore._jit.chunks": ("pysrc.chunks", (("recv_plan", "recv_plan"), ("fuse_chunk", "fuse_chunk"),
                                             ("merge_recv", "merge_recv"))),
    "liqcore._jit.depth": ("pysrc.depthbook", (("apply_rows", "DepthBook.apply"), ("size_at", "DepthBook.size"),
                                               ("dkey", "dkey"), ("group_books", "group_books"),
                                               ("load_book", "load_book"))),
    "liqcore._jit.xscope": ("pysrc.xscope", (("sparse_keep", "sparse_keep"),)),
    "liqcore._jit.zones": ("pysrc.zones", (("linear_quantile", "linear_quantile"),
                                           ("zone_entries", "zone_entries"))),
}

#: compiled modules that are not kernels (nothing to twin), with the reason
NOT_KERNELS: dict[str, str] = {
    "liqcore._libs._contract": "exposes the C layout of the contract structs to the layout test; computes nothing",
}
