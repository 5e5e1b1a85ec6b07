"""Run many argvs through the real Azure CLI in one process (run by the azure-cli venv's
Python, not by the tests' own): ``az`` spends most of a call starting Python and loading
its command modules, so one process per argv costs seconds each; here each argv costs tens
of milliseconds. Reads one JSON argv per line on stdin, writes one JSON object per line:
the argv, the exit status and everything written to stderr (captured at the file
descriptor: az's logging handlers hold the stderr of their first call). The test checks a
sample against one process per argv, so this shortcut cannot change a verdict unseen.
"""

import io
import json
import os
import sys
import tempfile

from azure.cli.core import get_default_cli


def main() -> int:
    capture = tempfile.TemporaryFile()
    saved = os.dup(2)
    for line in sys.stdin:
        argv = json.loads(line)
        capture.seek(0)
        capture.truncate()
        sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            try:
                code = get_default_cli().invoke(argv, out_file=io.StringIO())
            except SystemExit as exc:  # argparse's errors (exit 2) end this way
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
        capture.seek(0)
        sys.stdout.write(json.dumps({"argv": argv, "code": code, "stderr": capture.read()
                                     .decode("utf-8", "replace")}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
