"""How often the encoding detector reads a legacy file right: ``python -m bench.encodings [SIZE ...]``.

The texts are translated UI strings from the system's gettext catalogues
(/usr/share/locale/LANG/LC_MESSAGES/*.mo, whatever Debian packages put there),
20 random samples per language and size in characters, each encoded in its
language's legacy code page. A sample is read right when the decoded text is
the original; the samples without a non-ASCII byte are not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import gettext
import random
from pathlib import Path

from pipeline.encoding import decode
from pipeline.errors import SubtitleError

PAGES = {
    **dict.fromkeys(("fr", "de", "es", "pt", "it", "sv", "da", "fi"), "cp1252"),
    **dict.fromkeys(("cs", "pl", "hu", "hr", "sk", "sl", "ro"), "cp1250"),
    **dict.fromkeys(("ru", "uk", "bg"), "cp1251"),
    "el": "cp1253",
    "tr": "cp1254",
    "zh_CN": "gb18030",
    "zh_TW": "big5",
    "ja": "shift_jis",
    "ko": "euc_kr",
}
SAMPLES = 20


def strings(lang: str) -> list[str]:
    """One-line translations longer than 15 characters from every catalogue of ``lang``."""
    out = []
    for mo in sorted(Path(f"/usr/share/locale/{lang}/LC_MESSAGES").glob("*.mo")):
        try:
            with mo.open("rb") as handle:
                catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        out += [v for v in catalog.values() if isinstance(v, str) and len(v) > 15 and "\n" not in v]
    return out


def sample(pool: list[str], page: str, size: int, rng: random.Random) -> str:
    rng.shuffle(pool)
    text = ""
    for line in pool:
        if len(text) >= size:
            break
        try:
            line.encode(page)
        except UnicodeEncodeError:
            continue
        text += line + "\n"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encodings", description=__doc__.split("\n")[0])
    parser.add_argument(
        "sizes", nargs="*", type=int, default=[100, 300, 1000], help="sample sizes in characters"
    )
    args = parser.parse_args(argv)
    rng = random.Random(1)
    totals = {size: [0, 0] for size in args.sizes}
    for lang, page in PAGES.items():
        pool = strings(lang)
        if not pool:
            print(f"{lang:6} {page:10} no catalogues")
            continue
        cells = []
        for size in args.sizes:
            right = counted = 0
            for _ in range(SAMPLES):
                text = sample(pool, page, size, rng)
                data = text.encode(page)
                if data.isascii():
                    continue
                counted += 1
                with contextlib.suppress(SubtitleError):  # refused: not read right
                    right += decode(data, None, SubtitleError).text == text
            cells.append(f"{size}: {right}/{counted}")
            totals[size][0] += right
            totals[size][1] += counted
        print(f"{lang:6} {page:10} " + "  ".join(cells), flush=True)
    print("all               " + "  ".join(f"{size}: {r}/{n}" for size, (r, n) in totals.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
