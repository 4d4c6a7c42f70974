"""One page per venue (``venues/<name>.md``), generated at every build from the venue's own parts: its
``VenueSpec`` facts, the endpoints and event kinds of its ``stream`` part, the side convention of its ``parse``
part (its docstring, and its side tables ``LIQUIDATION_SIDES`` and ``TRADE_SIDES``: wire value -> liqcore side), its
answers' classes (``codes``), its REST limits (``rest``), its order gateway, archives, preflight and local fake, each
part's docstring saying what it does.  A venue registered with a folder of its own brings its page; a part it
lacks is left out of its page."""
from __future__ import annotations

import html
import importlib
import inspect
import re

#: the facts of a VenueSpec shown on the page, with what each means
FACTS = {
    "code": "its code in the event contract's `venue` column",
    "symbol_style": "how it spells a symbol",
    "quote": "the quote currency of the contracts liqcore trades",
    "sizes_in_contracts": "order and event sizes are contracts (times the instrument's contract value), not base units",
    "sampled_liquidations": "its liquidation stream is a sample (at most one per symbol per second), not every "
                            "liquidation: events carry `Flag.SAMPLED` and counts from them are lower bounds",
    "push_batch_ms": "its public streams push in batches of this many milliseconds (0: each message as it happens)",
    "all_market_stream": "the one subscription that carries every symbol's liquidations (none: a topic per symbol)",
    "per_topic_subscriptions": "each symbol's liquidations are a topic of their own, spread over connections by the "
                               "venue's limits",
    "ticker_stream": "mark price, funding and open interest come on a tickers stream",
    "rest_depth_snapshots": "a depth book starts from a REST snapshot",
    "needs_passphrase": "its API key comes with a passphrase",
    "public_clock": "its public time endpoint sets the clock guard's offset in paper trading",
    "fake": "what `liqcore run --replay` plays for it: `exchange` (a whole fake venue that also matches orders) or "
            "`streams` (its public market streams)",
}

_SIDES = {1: "LONG position liquidated", 2: "SHORT position liquidated", 3: "taker BUY", 4: "taker SELL"}
#: the side tables a venue's ``parse`` part declares (wire value -> liqcore side), each with the kind it is of
#: (docs/how-to/write-a-venue-plugin.md, "3. The parts")
SIDE_TABLES = {"LIQUIDATION_SIDES": "liquidation", "TRADE_SIDES": "trade"}


def _doc(mod) -> str:
    """A part's docstring as Markdown: its paragraphs, without the layering notes (``May import: ...``, ``Why one
    module: ...``)."""
    doc = inspect.getdoc(mod) or ""
    paras = [p for p in doc.split("\n\n") if not p.startswith(("May import", "Why one module"))]
    return "\n\n".join(" ".join(p.split()) if not p.startswith(("*", "    ")) else p for p in paras)


def _part(spec, name):
    return spec.part(name) if spec.has_part(name) else None


def _title(spec) -> str:
    pkg = importlib.import_module(spec.package)
    first = (inspect.getdoc(pkg) or spec.name).split("\n")[0]
    return first.split(":")[0].strip()


def _endpoints(mods) -> list[str]:
    rows: list = []
    for name, value, mod in sorted(((n, v, m) for m in mods if m is not None for n, v in vars(m).items()),
                                   key=lambda t: not isinstance(t[1], dict)):
        if True:
            if name.startswith("_") or not name.isupper():
                continue
            if isinstance(value, dict) and "ENDPOINTS" in name and all(isinstance(v, str) for v in value.values()):
                what = name.replace("_ENDPOINTS", "").replace("ENDPOINTS", "PUBLIC").replace("_", " ").lower()
                rows += [f"| {what} | `{net}` | `{url}` |" for net, url in value.items()]
            elif isinstance(value, str) and name.endswith("_URL") and re.match(r"(https?|wss?)://", value) \
                    and not any(f"`{value}`" in r for r in rows):  # (one the endpoint tables hold already)
                rows.append(f"| {name[:-4].replace('_', ' ').lower()} | | `{value}` |")
    return (["| what | network | URL |", "| --- | --- | --- |"] + list(dict.fromkeys(rows)) + [""]) if rows else []


def _sides(parse) -> list[str]:
    out = ["| on the wire | liqcore's side |", "| --- | --- |"]
    for name, what in SIDE_TABLES.items():
        table = getattr(parse, name, None)
        if not isinstance(table, dict) or not table:
            continue
        by_side: dict = {}
        for wire, code in table.items():
            by_side.setdefault(code, []).append(wire)
        for code, wires in by_side.items():
            out.append(f"| {what}: {', '.join(f'`{w}`' for w in wires)} | `{_SIDES.get(code, code)}` |")
    return out + [""] if len(out) > 2 else []


def _codes(codes) -> list[str]:
    table = getattr(codes, "CODES", None)
    if table is None or not hasattr(table, "codes"):
        return []
    by_class: dict = {}
    for code, entry in table.codes.items():
        by_class.setdefault(entry.what, []).append(str(code))
    out = ["| class | the venue's codes |", "| --- | --- |"]
    out += [f"| `{what}` | {', '.join(f'`{c}`' for c in sorted(cs))} |" for what, cs in sorted(by_class.items())]
    return out + [f"\nAny other code: `{table.default}`. What each class does to an order: a refusal ends it, an "
                  "unknown answer is resolved by a query by client id, a rate limit or a ban holds every request "
                  "until it ends.\n"]


def venue_page(spec) -> str:
    title = _title(spec)
    out = [f"# {html.escape(title.split()[0])}\n",
           f"{html.escape(title)}: what liqcore knows of the venue, generated from its folder "
           f"(`{spec.package}`). Run it with `--venue {spec.name}`.\n"]
    out += ["## Facts\n", "| fact | value | meaning |", "| --- | --- | --- |"]
    for f, meaning in FACTS.items():
        v = getattr(spec, f)
        shown = "yes" if v is True else "no" if v is False else "none" if v in (None, "") else f"`{v}`"
        if f == "symbol_style" and spec.example_symbol and spec.instrument_of(spec.example_symbol) is None:
            shown = "its own (none of liqcore's styles fits its names)"
        out.append(f"| `{f}` | {shown} | {meaning} |")
    out.append(f"| example symbol | `{spec.example()}` | "
               f"{'one of its symbols' if spec.example_symbol else 'the ETH perpetual'} |\n")

    stream, rest = _part(spec, "stream"), _part(spec, "rest")
    if spec.has_part("gateway") or spec.has_part("account"):  # (keys sign orders and preflight's account reads)
        out += ["## Networks, keys and endpoints\n",
                f"Keys come from the environment, `{spec.name.upper()}_API_KEY` and `{spec.name.upper()}_API_SECRET`"
                + (f" and `{spec.name.upper()}_API_PASSPHRASE`" if spec.needs_passphrase else "")
                + ", or from a key file readable by its owner only (`--key-file`); never from the command line.\n"]
    else:
        out += ["## Networks and endpoints\n"]
    out += _endpoints([stream, rest])
    if stream is not None:
        out += ["## Streams\n", _doc(stream) + "\n"]
        kinds = getattr(stream, "KINDS", None)
        if kinds:
            out.append("Event kinds it delivers: " + ", ".join(f"`{k}`" for k in kinds) + ".\n")
    parse = _part(spec, "parse")
    if parse is not None:
        out += ["## Frames and the side convention\n", _doc(parse) + "\n"]
        out += _sides(parse)
        if spec.sizes_in_contracts:
            from liqcore.venues.instruments import default_instruments

            out.append(f"Sizes on the wire are contracts: liqcore multiplies each by the instrument's contract value "
                       f"(`ctVal`, base currency per contract) before it becomes an event's `qty`; it ships the values "
                       f"of {len(default_instruments())} instruments and reads the others from the venue's "
                       "instrument list (`--instruments FILE` adds yours). A size of an instrument without one is "
                       "dropped and counted as `unknown_instrument`.\n")
    if rest is not None:
        out += ["## REST, limits and bans\n", _doc(rest) + "\n"]
    codes = _part(spec, "codes")
    if codes is not None:
        out += ["## The venue's answers\n", _doc(codes) + "\n"] + _codes(codes)
    for part, heading in (("gateway", "Orders (`--live`)"), ("account", "Preflight"), ("archives", "Public archives")):
        mod = _part(spec, part)
        if mod is not None:
            out += [f"## {heading}\n", _doc(mod) + "\n"]
    if spec.local_fake:
        modname, _, cls = spec.local_fake.partition(":")
        fake = importlib.import_module(modname)
        doc = inspect.getdoc(getattr(fake, cls)) or _doc(fake)
        out += ["## The local venue\n",
                f"`liqcore venue --venue {spec.name}` serves a local fake of the venue on 127.0.0.1 "
                f"(`{cls}`), to try `--live` offline:\n",
                " ".join(doc.split("\n\n")[0].split()) + "\n"]
    return "\n".join(out) + "\n"


def pages() -> dict[str, str]:
    import liqcore.venues  # noqa: F401  (registers the built-in venues)
    from liqcore.venues.registry import registered

    specs = sorted(registered(), key=lambda s: s.code)
    out = {f"venues/{s.name}.md": venue_page(s) for s in specs}
    rows = ["| venue | name on the command line | liquidations | sizes |", "| --- | --- | --- | --- |"]
    for s in specs:
        rows.append(f"| [{html.escape(_title(s))}]({s.name}.md) | `{s.name}` | "
                    f"{'a sample (one per symbol per second)' if s.sampled_liquidations else 'every one'} | "
                    f"{'contracts' if s.sizes_in_contracts else 'base units'} |")
    out["venues/index.md"] = ("# The venues\n\nOne page per venue liqcore trades, generated from the venue's own "
                              "folder: its facts, endpoints and keys, streams, side convention, limits and answers, "
                              "archives, preflight and local fake. Running on each: "
                              "[paper and live on each venue](../how-to/run-live.md).\n\n" + "\n".join(rows) + "\n")
    return out


def nav() -> list:
    import liqcore.venues  # noqa: F401
    from liqcore.venues.registry import registered

    return [{"Overview": "venues/index.md"}] + [{_title(s).split()[0]: f"venues/{s.name}.md"}
                                                for s in sorted(registered(), key=lambda s: s.code)]
