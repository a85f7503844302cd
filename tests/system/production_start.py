"""Start services' console scripts in production mode, many from one interpreter.

``python -m tests.system.production_start`` reads a JSON list of starts on stdin
(``{"command": "shopmesh-auth", "env": {...}}``) and prints a JSON list of
``[exit code, output]``, the code ``null`` for a process still running at the time limit
(it was killed: starting is what the caller looks for).

Each start is a process of its own, forked after this one imported every command's
function once: the child takes the start's environment (nothing else) and runs the
console script's function as the script does, with its own output and exit code. The
imports, nearly all of a start's cost, happen once instead of once per start.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

LIMIT = 60.0  # seconds a start may take to refuse


def _child(main: Callable[[], Any], env: dict[str, str], output: int) -> None:
    """In the forked process: what ``sys.exit(main())`` in the console script does."""
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.environ.clear()
    os.environ.update(env)
    try:
        code: Any = main()
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:
        traceback.print_exc()
        code = 1
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def _start(main: Callable[[], Any], env: dict[str, str]) -> tuple[int | None, str]:
    with tempfile.TemporaryFile() as output:
        pid = os.fork()
        if pid == 0:
            _child(main, env, output.fileno())
        deadline = time.monotonic() + LIMIT
        while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the child's exit, not waiting out a guess
        code: int | None
        if waited[0] == 0:  # still running: it started
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            code = None
        else:
            code = os.waitstatus_to_exitcode(waited[1])
        output.seek(0)
        return code, output.read().decode(errors="replace")


def main() -> None:
    starts = json.load(sys.stdin)
    scripts = entry_points(group="console_scripts")
    mains = {s["command"]: scripts[s["command"]].load() for s in starts}
    sys.stdout.flush()
    print(json.dumps([_start(mains[s["command"]], s["env"]) for s in starts]))


if __name__ == "__main__":
    main()
