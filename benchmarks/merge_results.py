"""Copy one benchmark's section and JSON records from another output directory.

Benchmarks run with ``--out DIR`` (e.g. to run several at once) write their
``RESULTS.md`` section and ``results/<name>.json`` there; this merges them
into ``benchmarks/``. Usage: ``python benchmarks/merge_results.py DIR NAME [NOTE]
[--as RECORD]``; NOTE is appended to the section's notes (e.g. how the machine
was shared). ``--as NAME__LEVER`` files a run made with a lever (e.g.
``bench_selection --param grid_negatives=6``) as a record of its own,
``NAME__LEVER``, beside the benchmark's record rather than over it; it holds
the run's own rows only (not those a partial run kept from the benchmark's
record, which measure the recipe without the lever).
"""

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from _harness import BENCH_DIR, _replace_section, _write_text


def own_rows(body, rows):
    """The section and the records of a run without the rows it kept from an earlier one."""
    commit = re.search(r"· commit (\w+)", body).group(1)
    lines = [line for line in body.splitlines()
             if not line.startswith("Rows of another commit were not rerun")
             and not (line.startswith("| ") and not line.rstrip().endswith(f"| {commit} |")
                      and not line.startswith("| dataset |"))]
    return "\n".join(lines), [row for row in rows if row["commit"] == commit]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("name")
    parser.add_argument("note", nargs="?")
    parser.add_argument("--as", dest="record", default=None,
                        help="record name NAME__LEVER for a run made with a lever")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    source, name, note = args.source, args.name, args.note
    record = args.record or name
    if record != name and not record.startswith(f"{name}__"):
        parser.error(f"--as takes {name}__<lever>, got {record!r}")
    text = (source / "RESULTS.md").read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    body = text.split(start, 1)[1].split(end, 1)[0].strip("\n")
    rows = json.loads((source / "results" / f"{name}.json").read_text())
    if record != name:
        body, rows = own_rows(body, rows)
    if note:
        body += f"\n\nNote: {note}\n"
    _replace_section(BENCH_DIR / "RESULTS.md", record, body)
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    _write_text(BENCH_DIR / "results" / f"{record}.json", json.dumps(rows, indent=1) + "\n")
    for extra in (source / "results").glob(f"{name.removeprefix('bench_')}_*.png"):
        shutil.copy(extra, BENCH_DIR / "results" / extra.name)
    print(f"merged {name} from {source}" + (f" as {record}" if record != name else ""))


if __name__ == "__main__":
    main()
