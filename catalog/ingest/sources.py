"""Turn what a user hands us (a path, a folder, a zip, an upload) into named MIDI byte strings.

Nothing is extracted to disk. Archives are checked before any member is read: member count,
declared total size, compression ratio (zip bombs) and member paths (zip-slip: ``../`` or
absolute names). Reading is capped again by the bytes actually produced, so a lying header
cannot get past the limits. The report lists every member: one that is unsafe, not MIDI, too
large or damaged is refused alone with its reason and the others are still read; a problem of
the archive as a whole (its total size or ratio) refuses all of it, every member listed unread.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

MIDI_SUFFIXES = (".mid", ".midi")
ARCHIVE_SUFFIXES = (".zip",)
_CHUNK = 64 * 1024
_RATIO_FLOOR = 1024 * 1024  # archives and members smaller than this unpack whatever their ratio


class IngestError(Exception):
    """A file (or archive) that cannot be imported, and why."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


class DuplicateError(IngestError):
    """The file's content is already in the catalog (reported, never fatal to a batch).
    ``existing_id``: the public track it duplicates, for staff to open (None otherwise)."""

    def __init__(self, filename: str, reason: str, existing_id: int | None = None) -> None:
        super().__init__(filename, reason)
        self.existing_id = existing_id


class SkippedFile(IngestError):
    """An archive member that is no piece and no mistake (a hidden file, macOS metadata):
    listed in the report as skipped."""


@dataclass(frozen=True)
class IngestLimits:
    """Caps that keep hostile or accidental input from exhausting the machine."""

    max_upload_bytes: int = 50 * 1024 * 1024  # one uploaded file or archive
    max_file_bytes: int = 8 * 1024 * 1024  # one MIDI file
    max_duration_seconds: float = 30 * 60  # one piece
    max_archive_members: int = 2000
    max_archive_total_bytes: int = 200 * 1024 * 1024  # uncompressed, all members together
    max_compression_ratio: float = 100.0  # per member above 1 MiB uncompressed


@dataclass(frozen=True)
class SourceFile:
    """One MIDI candidate: its display name (``archive.zip/dir/x.mid``) and its bytes."""

    name: str
    data: bytes


def _read_capped(handle: IO[bytes], name: str, limit: int, what: str = "file") -> bytes:
    buffer = bytearray()
    while chunk := handle.read(_CHUNK):
        buffer.extend(chunk)
        if len(buffer) > limit:
            raise IngestError(name, f"the {what} is larger than the {_mib(limit)} limit")
    return bytes(buffer)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def _unsafe_member_name(name: str) -> bool:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in PurePosixPath(name).parts


def _skippable_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or parts[-1].startswith(".")


def _member_refusal(
    info: zipfile.ZipInfo, display: str, limits: IngestLimits
) -> IngestError | None:
    """Why one member is not read (before anything is unpacked), or None to read it."""
    name = info.filename
    if _unsafe_member_name(name):
        return IngestError(
            display, "unsafe path inside the archive (it points outside it): not read"
        )
    if _skippable_member(name):
        return SkippedFile(display, "skipped: a hidden file or macOS metadata, not a piece")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return IngestError(display, "archives inside archives are not accepted")
    if suffix not in MIDI_SUFFIXES:
        return IngestError(display, "not a MIDI file (expected .mid or .midi)")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > _RATIO_FLOOR and ratio > limits.max_compression_ratio:
        return IngestError(display, f"expands {ratio:.0f}x when unpacked (possible zip bomb)")
    if info.file_size > limits.max_file_bytes:
        return IngestError(display, f"larger than the {_mib(limits.max_file_bytes)} limit")
    return None


def _archive_refused(archive_name: str, reason: str, infos: list[zipfile.ZipInfo]) -> list[Any]:
    """The whole archive refused: its own line with the reason, then every member, unread."""
    rows: list[Any] = [IngestError(archive_name, reason)]
    rows.extend(
        IngestError(f"{archive_name}/{info.filename}", "not read: the archive was refused")
        for info in infos
    )
    return rows


def read_zip(handle: IO[bytes] | str | Path, archive_name: str, limits: IngestLimits) -> list[Any]:
    """Validate an archive, then return one item per member: ``SourceFile`` (to import),
    ``IngestError`` (refused, with its reason) or ``SkippedFile`` (hidden or macOS metadata).

    A member is refused alone for what is wrong with it (an unsafe ``../`` or absolute path, not
    MIDI, an archive, too large, a compression ratio of a zip bomb, damaged): the others are
    still read. What is wrong with the archive as a whole (the members' total size or ratio
    together, unpacking past its budget) refuses all of it: its own line with the reason, then
    every member marked unread. Raises ``IngestError`` when the archive cannot be read at all
    or has more members than ``max_archive_members`` (one line: the list is the attack).
    """
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(archive_name, f"not a readable zip archive ({exc})") from exc
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > limits.max_archive_members:
            raise IngestError(
                archive_name,
                f"the archive has {len(infos)} files; the limit is {limits.max_archive_members}",
            )
        items: list[Any] = []
        readable: list[tuple[int, zipfile.ZipInfo]] = []
        for info in infos:
            refusal = _member_refusal(info, f"{archive_name}/{info.filename}", limits)
            if refusal is None:
                readable.append((len(items), info))
            items.append(refusal)  # a readable member's place, filled in once it is read
        total = sum(info.file_size for _, info in readable)
        if total > limits.max_archive_total_bytes:
            return _archive_refused(
                archive_name,
                f"the archive unpacks to {_mib(total)}; the limit is "
                f"{_mib(limits.max_archive_total_bytes)} (possible zip bomb)",
                infos,
            )
        # The same ratio over the members together: many small ones add up (190 x 1 MiB of
        # zeros is 214 KB zipped). Checked on the declared sizes, then on the bytes produced.
        compressed = sum(info.compress_size for _, info in readable)
        if total > _RATIO_FLOOR and total / max(compressed, 1) > limits.max_compression_ratio:
            return _archive_refused(
                archive_name,
                f"the archive expands {total / max(compressed, 1):.0f}x when unpacked "
                "(possible zip bomb)",
                infos,
            )
        budget = min(
            limits.max_archive_total_bytes,
            max(_RATIO_FLOOR, int(compressed * limits.max_compression_ratio)),
        )
        produced = 0
        for index, info in readable:
            display = f"{archive_name}/{info.filename}"
            remaining = budget - produced
            try:
                with archive.open(info) as member:  # streamed: stops at the archive's budget
                    data = _read_capped(member, display, min(limits.max_file_bytes, remaining))
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
                detail = str(exc) or type(exc).__name__
                items[index] = IngestError(display, f"damaged inside the archive ({detail})")
                continue
            except IngestError as exc:
                if remaining >= limits.max_file_bytes:
                    items[index] = exc  # that member alone is larger than it said
                    continue
                return _archive_refused(
                    archive_name,
                    f"the archive unpacks to more than {_mib(budget)} (possible zip bomb)",
                    infos,
                )
            produced += len(data)
            items[index] = SourceFile(display, data)
        return items


def _from_bytes(name: str, handle: IO[bytes], size: int, limits: IngestLimits) -> list[Any]:
    suffix = Path(name).suffix.lower()
    if size > limits.max_upload_bytes:
        raise IngestError(
            name, f"the upload is {_mib(size)}; the limit is {_mib(limits.max_upload_bytes)}"
        )
    if suffix in ARCHIVE_SUFFIXES:
        return read_zip(handle, name, limits)
    if suffix not in MIDI_SUFFIXES:
        raise IngestError(name, "not a MIDI file (expected .mid, .midi or a .zip of them)")
    if size > limits.max_file_bytes:
        raise IngestError(name, f"larger than the {_mib(limits.max_file_bytes)} limit")
    return [SourceFile(name, _read_capped(handle, name, limits.max_file_bytes))]


def _from_path(path: Path, limits: IngestLimits) -> Iterator[Any]:
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for filename in sorted(files):
                child = Path(root) / filename
                if filename.startswith(".") or child.suffix.lower() not in (
                    MIDI_SUFFIXES + ARCHIVE_SUFFIXES
                ):
                    continue
                yield from _from_path(child, limits)
        return
    try:
        info = path.stat()
    except OSError as exc:
        yield IngestError(str(path), f"cannot be read ({exc.strerror or exc})")
        return
    if not stat.S_ISREG(info.st_mode):
        yield IngestError(str(path), "not a regular file")
        return
    try:
        with path.open("rb") as handle:
            yield from _from_bytes(str(path), handle, info.st_size, limits)
    except IngestError as exc:
        yield exc


def collect(source: Any, limits: IngestLimits, *, name: str | None = None) -> list[Any]:
    """Read one source into ``SourceFile`` items and ``IngestError`` items (rejections).

    ``source`` is a path (file, folder or zip), raw bytes (give ``name``), or an uploaded
    file (anything with ``name``, ``size`` and ``read``, like Django's ``UploadedFile``).
    """
    if isinstance(source, str | Path):
        return list(_from_path(Path(source), limits))
    try:
        if isinstance(source, bytes | bytearray):
            label = name or "upload.mid"
            return _from_bytes(label, io.BytesIO(source), len(source), limits)
        label = name or Path(getattr(source, "name", "") or "upload").name
        size = getattr(source, "size", None)
        if size is None:
            raise TypeError(f"cannot read {type(source).__name__} as a MIDI source")
        if hasattr(source, "seek"):
            source.seek(0)
        return _from_bytes(label, source, size, limits)
    except IngestError as exc:
        return [exc]


def collect_all(sources: Iterable[Any], limits: IngestLimits) -> list[Any]:
    """``collect`` over several sources, in order."""
    items: list[Any] = []
    for source in sources:
        items.extend(collect(source, limits))
    return items
