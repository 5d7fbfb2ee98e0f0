"""Copy one benchmark's section and JSON records from another output directory.

Benchmarks run with ``--out DIR`` (e.g. to run several at once) write their
``RESULTS.md`` section and ``results/<name>.json`` there; this merges them
into ``benchmarks/``. Usage: ``python benchmarks/merge_results.py DIR NAME [NOTE]``;
NOTE is appended to the section's notes (e.g. how the machine was shared).
"""

import shutil
import sys
from pathlib import Path

from _harness import BENCH_DIR, _replace_section


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    source, name = Path(argv[0]), argv[1]
    note = argv[2] if len(argv) > 2 else None
    text = (source / "RESULTS.md").read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    body = text.split(start, 1)[1].split(end, 1)[0].strip("\n")
    if note:
        body += f"\n\nNote: {note}\n"
    _replace_section(BENCH_DIR / "RESULTS.md", name, body)
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    shutil.copy(source / "results" / f"{name}.json", BENCH_DIR / "results" / f"{name}.json")
    for extra in (source / "results").glob(f"{name.removeprefix('bench_')}_*.png"):
        shutil.copy(extra, BENCH_DIR / "results" / extra.name)
    print(f"merged {name} from {source}")


if __name__ == "__main__":
    main()
