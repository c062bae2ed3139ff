"""Whether an audio file breaks off inside its last page or frame: the mark of a cut-short copy.

Ogg, and MP3 or AAC (ADTS) without a length header, state no length that a
shortfall could be measured against; ffmpeg takes their length from what is
there. But each is a chain of pages or frames whose headers give their own
sizes, and a file cut at a random byte almost always ends inside one (an Ogg
page is ~4 KB, a 128 kbit/s MP3 frame 418 bytes): the last header promises
more bytes than are left. Only the file's tail is read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# A chain of this many whole pages or frames, each starting where the last
# ended, is taken for the stream: a false sync word in the data rarely chains.
_CHAIN = 3
_TAIL = 1 << 17  # two of Ogg's largest pages (65,307 bytes); MP3 and ADTS frames are far smaller

# MPEG audio bit rates (kbit/s) by [version is MPEG-1][layer], indexed by the header's 4 bits.
_RATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}

Frames = Callable[[bytes, int], int | None]  # a frame's length from its header at an offset, or None


def broken_end(path: Path, format_name: str) -> str | None:
    """What breaks off at the end of ``path`` ("an Ogg page", "an MP3 frame"), or None.

    None also where it cannot be told: another container, a tail that is no
    chain, or a cut that fell exactly between two frames.
    """
    kinds: dict[str, tuple[str, bytes, int, Frames]] = {  # what, sync bytes, header size, frame length
        "ogg": ("an Ogg page", b"OggS", 27, _ogg_page),
        "mp3": ("an MP3 frame", b"\xff", 4, _mp3_frame),
        "aac": ("an AAC frame", b"\xff", 7, _adts_frame),
    }
    if format_name not in kinds:
        return None
    what, sync, header, frame_length = kinds[format_name]
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - _TAIL))
        tail = handle.read()
    end = len(tail) - (_tags(tail) if format_name != "ogg" else 0)
    return what if _ends_inside(tail[:end], sync, header, frame_length) else None


def _ends_inside(data: bytes, sync: bytes, header: int, frame_length: Frames) -> bool:
    """Whether the chain of frames in ``data`` runs past its end; False where it ends there, or breaks."""
    end = len(data)
    start = data.find(sync)
    while 0 <= start < end:
        at, chained = start, 0
        while at < end:
            length = frame_length(data, at)
            if length is None:
                if chained >= _CHAIN and end - at < header and data[at:end].startswith(sync[: end - at]):
                    return True  # the cut fell inside the next frame's header
                break
            chained += 1
            if at + length > end:
                return chained > _CHAIN  # whole frames before it, then one that breaks off
            at += length
        else:
            if chained >= _CHAIN:
                return False  # it ends right after a whole frame
        start = data.find(sync, start + 1)
    return False


def _tags(data: bytes) -> int:
    """Bytes of ID3v1 and APEv2 tags at the end of an MP3 or AAC file (not frames)."""
    size = 0
    if data[-128:-125] == b"TAG":
        size += 128
    footer = data[len(data) - size - 32 : len(data) - size]
    if footer[:8] == b"APETAGEX":
        tag = int.from_bytes(footer[12:16], "little")  # items and footer
        header = 32 if int.from_bytes(footer[20:24], "little") & (1 << 31) else 0
        size += tag + header
    return size


def _ogg_page(data: bytes, at: int) -> int | None:
    if data[at : at + 4] != b"OggS" or at + 27 > len(data) or data[at + 4] != 0:
        return None
    segments = data[at + 26]
    table = data[at + 27 : at + 27 + segments]
    if len(table) < segments:
        return 27 + segments  # the segment table itself is cut: the page runs past the end
    return 27 + segments + sum(table)


def _mp3_frame(data: bytes, at: int) -> int | None:
    head = data[at : at + 4]
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[1] >> 3) & 3, 4 - ((head[1] >> 1) & 3)
    rate_index, sample_index, padding = head[2] >> 4, (head[2] >> 2) & 3, (head[2] >> 1) & 1
    if version == 1 or layer == 4 or rate_index in (0, 15) or sample_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _RATES[(mpeg1, layer)][rate_index] * 1000
    sample_rate = _SAMPLE_RATES[version][sample_index]
    if layer == 1:
        return (12 * bitrate // sample_rate + padding) * 4
    per_frame = 144 if mpeg1 or layer == 2 else 72
    return per_frame * bitrate // sample_rate + padding


def _adts_frame(data: bytes, at: int) -> int | None:
    head = data[at : at + 7]
    if len(head) < 7 or head[0] != 0xFF or head[1] & 0xF6 != 0xF0:
        return None
    length = ((head[3] & 0x03) << 11) | (head[4] << 3) | (head[5] >> 5)
    return length if length >= 7 else None
