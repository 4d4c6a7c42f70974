"""Opening recording files: ``.gz`` / ``.zst`` read transparently (several gzip members or zstd frames,
a file cut short read up to the cut; a gzip member or zstd frame that fails its check, up to that member or frame:
:class:`DamagedMember`), files streamed as blocks of whole lines
(:class:`Blocks`, :data:`BLOCK_BYTES`), a file's head (:func:`read_head`).  A UTF-8 byte order mark at the
start of a file (or of its decompressed text) is dropped here, by every way of opening one, so that no reader
or detection sees it.  Shared by :mod:`liqcore.io`'s readers and the venues' archive readers
(``liqcore.venues.<venue>.archives``), which sit below ``io``.  Imports nothing else from the package."""
from __future__ import annotations

import io as _io
from pathlib import Path


def compression(path: Path) -> str | None:
    """``"gz"``, ``"zst"`` or None, by the file's name."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return "gz"
    if name.endswith(".zst") or name.endswith(".zstd"):
        return "zst"
    return None


def base_name(path: Path) -> str:
    """The file's lower-case name without its compression suffix (``x.csv.gz`` -> ``x.csv``)."""
    name = path.name.lower()
    for suf in (".gz", ".zst", ".zstd"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


_GZIP_MAGIC = b"\x1f\x8b"
#: the UTF-8 byte order mark some editors and exporters put at the start of a text file
BOM = b"\xef\xbb\xbf"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _check_magic(path: Path, comp: str) -> None:
    """A file named .gz / .zst that does not start like one: ValueError naming the file (an empty
    file is an empty file)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        return
    if comp == "gz":
        ok, kind = head.startswith(_GZIP_MAGIC), "gzip"
    else:  # a zstd frame, or a skippable frame (magic 0x184D2A50 .. 0x184D2A5F, little-endian)
        ok, kind = head == _ZSTD_MAGIC or (head[1:] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50), "zstd"
    if not ok:
        ext = path.name.rsplit(".", 1)[-1]
        raise ValueError(f"{path}: not a {kind} file, though its name ends in .{ext} (it starts with {head!r}); "
                         f"rename it without .{ext} if it is not compressed")


def open_binary(path) -> _io.BufferedIOBase:
    """Open a possibly .gz/.zst compressed file for binary reading, a leading UTF-8 BOM skipped (one named
    so that is not: ValueError naming the file)."""
    path = Path(path)
    comp = compression(path)
    if comp is not None:
        _check_magic(path, comp)
    if comp == "gz":
        import gzip

        fh = gzip.open(path, "rb")
    elif comp == "zst":
        import zstandard

        raw = open(path, "rb")
        fh = _io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True))
    else:
        fh = open(path, "rb")
    try:
        if fh.peek(len(BOM))[: len(BOM)] == BOM:
            fh.read(len(BOM))
    except Exception:  # (a stream that fails this early fails alike on its first read, said there)
        pass
    except BaseException:
        fh.close()
        raise
    return fh


def read_head(path, size: int = 1 << 16) -> bytes:
    """The first ``size`` bytes of a (possibly .gz/.zst compressed) file once decompressed, a leading BOM
    dropped; of a compressed file cut short or corrupt, what precedes the damage (ValueError: nothing does,
    said as a file cut short; a file that is not the compressed file its name says)."""
    path = Path(path)
    try:
        blk, head = _head(Blocks(path, size), size)
    except DamagedMember as exc:  # (a damaged gzip member within the head: what precedes the member)
        blk, head = _head(Blocks(path, size, damaged=exc), size)
    if not head and blk.truncated:
        raise ValueError(blk.cut_short_error())
    return head


def _head(blk, size: int):
    got: list = []
    n = 0
    for chunk in blk.chunks():
        got.append(chunk)
        n += len(chunk)
        if n >= size:
            break
    return blk, b"".join(got)[:size]


def open_text(path):
    """Open a possibly compressed text file as UTF-8 text."""
    return _io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline="")


#: bytes per block when streaming line files (memory use stays about one block plus the events)
BLOCK_BYTES = 64 << 20


class DamagedMember(ValueError):
    """A gzip member or zstd frame that failed its integrity check (zlib: a CRC or length that does not match, an
    invalid block; zstd: a content checksum that does not match, a corrupt block) after :class:`Blocks` had handed
    on some of its text.  That text cannot be trusted: a flipped bit
    decodes to plausible rows before zlib notices, and nothing tells where they start.  A reader that keeps
    what it read reads the file again as ``Blocks(path, damaged=exc)``: the members before it, the file cut
    short at its start (as :class:`Blocks` reads it at once where none of the member's text had gone out)."""

    def __init__(self, path, start: int, why: str, unit: str = "gzip member"):
        self.path, self.start, self.why, self.unit = str(path), start, why, unit
        super().__init__(f"{path}: corrupt {unit.split()[0]} data ({self.what()})")

    def what(self, dropped: bool = True) -> str:
        """What failed and where (without the file's name); ``dropped``: False where some of the member's text
        went out before the damage was found (a stream cannot take it back)."""
        said = f"the {self.unit} at compressed byte {self.start:,} is damaged: {self.why}"
        return said if dropped else said + "; some of its text went out before that was found"


class Blocks:
    """A (possibly .gz/.zst compressed) file as blocks of whole lines of about ``size`` bytes.

    zstd files may hold several frames (a writer restarted within the file appends one); a file cut
    short by a crashed writer yields everything decodable before the cut and sets ``truncated``.
    A gzip member or zstd frame that fails its check is dropped (its text may be garbage from its first byte on:
    a flipped bit decodes to plausible rows until the check at its end), the file then read as cut short at
    its start; where some of that text had been yielded, :class:`DamagedMember` is raised instead, and
    ``damaged=`` that exception reads the members before it.
    """

    def __init__(self, path: Path, size: int | None = None, damaged: DamagedMember | None = None):
        self.path = path
        self.size = size or BLOCK_BYTES
        self.damaged = damaged  # the damaged member or frame this reading stops at (given, or found), as cut short
        self.truncated = False
        self.error = ""  # why a compressed stream stopped early ("" when it ends early but is not corrupt)
        self.consumed = 0  # compressed bytes read
        self.produced = 0  # bytes yielded (decompressed)
        self.lines = 0  # line ends yielded

    def truncation_note(self) -> str:
        """One line on a compressed file that ended early: what was read before the cut."""
        comp = {"gz": "gzip", "zst": "zstd"}.get(compression(self.path), "compressed")
        try:
            size = self.path.stat().st_size
        except OSError:
            size = self.consumed
        where = (f"corrupt {comp} data ({self.error})" if self.error else f"the {comp} stream ends early (file cut short?)")
        return (f"{self.path}: {where}: read {self.lines:,} lines ({self.produced / 1e6:,.1f} MB decompressed) "
                f"from {self.consumed:,} of {size:,} compressed bytes; whatever followed is missing")

    def cut_short_error(self) -> str:
        """The error of a compressed file cut short with nothing decodable before the cut."""
        return self.truncation_note() + " (nothing before the cut: no record to read)"

    def chunks(self):
        """The decompressed bytes as they come (not cut at line ends), a leading UTF-8 BOM dropped."""
        raw = self._raw()
        head = b""
        for chunk in raw:  # (the first bytes gathered until they can tell a BOM)
            head += chunk
            if len(head) >= len(BOM) or not BOM.startswith(head):
                break
        if head.startswith(BOM):
            head = head[len(BOM):]
        if head:
            yield head
        yield from raw

    def _raw(self):
        comp = compression(self.path)
        with open(self.path, "rb") as fh:
            if comp is None:
                while True:
                    chunk = fh.read(self.size)
                    if not chunk:
                        return
                    yield chunk
            else:  # gzip members / zstd frames, one after another; everything before a cut or a damaged one kept
                if comp == "gz":
                    import zlib

                    new_dobj, errors = (lambda: zlib.decompressobj(31)), (zlib.error,)
                else:
                    import zstandard

                    dctx = zstandard.ZstdDecompressor()
                    new_dobj, errors = dctx.decompressobj, (zstandard.ZstdError,)
                dobj = new_dobj()
                fed = False  # the current member/frame has input but has not ended yet
                step = min(self.size, 4 << 20)  # compressed bytes per read
                stop = self.damaged.start if self.damaged is not None else None  # (read up to it)
                start = end = 0  # the current member's first compressed byte; the end of the slice fed
                given = held = 0  # text the current member gave; of it, not yet yielded
                pending: list = []  # decompressed, not yet yielded (fed in slices: a corrupt spot
                try:  # loses only what follows it)
                    while True:
                        chunk = fh.read(step if stop is None else min(step, stop - self.consumed))
                        if not chunk:
                            break
                        base = self.consumed
                        self.consumed += len(chunk)
                        for off in range(0, len(chunk), 1 << 16):
                            data = chunk[off : off + (1 << 16)]
                            end = base + off + len(data)
                            while data:
                                if not fed:
                                    if comp == "gz":  # zero padding between or after members
                                        data = data.lstrip(b"\0")  # (as gzip allows)
                                        if not data:
                                            break
                                    start = end - len(data)
                                out = dobj.decompress(data)
                                fed = True
                                if out:
                                    pending.append(out)
                                    given += len(out)
                                    held += len(out)
                                if dobj.eof:
                                    data = dobj.unused_data
                                    dobj = new_dobj()
                                    fed = False
                                    given = held = 0
                                else:
                                    data = b""
                        if pending:
                            out, pending = b"".join(pending), []
                            self.produced += len(out)
                            held = 0
                            yield out
                except errors as exc:
                    # a damaged member or frame: none of the text it gave is trusted (garbage may start at its
                    # first byte); the file is read as cut short at its start.  Some of that text yielded already:
                    cut = DamagedMember(self.path, start, str(exc), "gzip member" if comp == "gz" else "zstd frame")
                    if held < given:
                        raise cut from None  # the reader reads again up to the member
                    self.damaged, self.consumed = cut, start
                    if held:  # (all of it still here)
                        out = b"".join(pending)[:-held]
                        pending = [out] if out else []
                    if pending:
                        out, pending = b"".join(pending), []
                        self.produced += len(out)
                        yield out
                    if not self.produced:
                        kind = "gzip" if comp == "gz" else "zstd"
                        raise ValueError(f"{self.path}: not a readable {kind} file ({self.damaged.what()})") from None
                    self.error = self.damaged.what()
                    self.truncated = True
                    return
                if fed:
                    self.truncated = True
                elif self.damaged is not None:  # read up to the damaged member: cut short there
                    if not self.produced:
                        kind = "gzip" if comp == "gz" else "zstd"
                        raise ValueError(f"{self.path}: not a readable {kind} file ({self.damaged.what()})")
                    self.error, self.truncated = self.damaged.what(), True

    def __iter__(self):
        carry = b""
        for chunk in self.chunks():
            buf = carry + chunk if carry else chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
                continue
            carry = buf[cut + 1 :]
            block = buf[: cut + 1]
            self.lines += block.count(b"\n")
            yield block
        if carry:
            self.lines += 1
            yield carry
