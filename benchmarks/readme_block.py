"""The README's benchmark blocks: text between `<!-- NAME:start -->` and `<!-- NAME:end -->`,
rewritten by each benchmark's `--readme` so the figures in the README are the last run's."""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def read_block(readme: Path, name: str) -> str | None:
    """The block's current text, or None when the README has no such block."""
    start, end = markers(name)
    content = readme.read_text(encoding="utf-8")
    if start not in content or end not in content:
        return None
    return content.split(start, 1)[1].split(end, 1)[0]


def write_block(readme: Path, name: str, text: str, *, append: bool = False) -> bool:
    """Replace the block's text; without the block, append one when `append`, else leave the
    README alone and return False."""
    start, end = markers(name)
    content = readme.read_text(encoding="utf-8")
    block = f"{start}\n{text}\n{end}"
    if start in content and end in content:
        head, rest = content.split(start, 1)
        content = head + block + rest.split(end, 1)[1]
    elif append:
        content += "\n" + block + "\n"
    else:
        return False
    readme.write_text(content, encoding="utf-8")
    return True
