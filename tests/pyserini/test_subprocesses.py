"""hybrid_plugin.pyserini.subprocesses: commands run a few at a time with limited threads; a failure is one line
and ends the others."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from hybrid_plugin.errors import DataError
from hybrid_plugin.pyserini.subprocesses import THREAD_VARIABLES, available_cores, run_parallel, thread_limits


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _logs(tmp_path: Path, names) -> dict[str, Path]:
    return {name: tmp_path / f"{name}.log" for name in names}


def test_thread_limits_reach_torch_in_a_subprocess(tmp_path):
    env = thread_limits(1)
    assert all(env[name] == "1" for name in THREAD_VARIABLES) and env["TOKENIZERS_PARALLELISM"] == "false"
    assert thread_limits(3, {"PATH": "/bin"}) == {"PATH": "/bin", **{n: "3" for n in THREAD_VARIABLES},
                                                  "TOKENIZERS_PARALLELISM": "false"}
    commands = {"torch": _python("import torch; print(torch.get_num_threads())")}
    logs = _logs(tmp_path, commands)
    unlimited = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}  # torch: one per core
    run_parallel(commands, logs, parallel=1, env=thread_limits(1, unlimited))
    assert logs["torch"].read_text().split() == ["1"]
    assert available_cores() >= 1


def test_parallel_bounds_how_many_run_at_once(tmp_path):
    """With one at a time, each command ends before the next starts; with two, the second starts while the first
    waits for it (it would wait forever if they ran one after the other)."""
    events = tmp_path / "events"
    append = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"
    commands = {name: [sys.executable, "-c", append, str(events), name] for name in ("a", "b", "c")}
    seconds = run_parallel(commands, _logs(tmp_path, commands), parallel=1, env=os.environ)
    assert list(seconds) == ["a", "b", "c"] and all(s >= 0 for s in seconds.values())
    assert events.read_text().split() == ["a", "b", "c"]

    flag = tmp_path / "b-started"
    wait_for_b = f"import os, time\nwhile not os.path.exists({str(flag)!r}): time.sleep(0.05)"
    commands = {"a": _python(wait_for_b), "b": _python(f"open({str(flag)!r}, 'w').close()")}
    run_parallel(commands, _logs(tmp_path, commands), parallel=2, env=os.environ)
    assert flag.exists()


def test_a_failure_is_one_line_and_ends_the_others(tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    sleeper = _python(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)")
    failing = _python(f"import os, sys, time\nwhile not os.path.exists({str(pid_file)!r}): time.sleep(0.05)\n"
                      "print('progress 50%')\nraise ValueError('bad line 12 in corpus')")
    commands = {"shard 0 of 2": sleeper, "shard 1 of 2": failing}
    with pytest.raises(DataError) as caught:
        run_parallel(commands, _logs(tmp_path, commands), parallel=2, env=os.environ)
    assert str(caught.value) == "shard 1 of 2 failed (exit status 1): ValueError: bad line 12 in corpus"
    with pytest.raises(ProcessLookupError):  # ended and reaped
        os.kill(int(pid_file.read_text()), 0)


def test_a_killed_command_and_one_that_cannot_start(tmp_path):
    commands = {"merge": _python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")}
    with pytest.raises(DataError, match=r"^merge failed \(killed by SIGKILL\): no output \(out of memory\?\)$"):
        run_parallel(commands, _logs(tmp_path, commands), parallel=1, env=os.environ)
    commands = {"ghost": [str(tmp_path / "no-such-program")]}
    with pytest.raises(DataError, match="^ghost cannot start: No such file or directory$"):
        run_parallel(commands, _logs(tmp_path, commands), parallel=1, env=os.environ)


def test_a_long_last_line_is_cut(tmp_path):
    commands = {"x": _python("import sys; sys.exit('e' * 1000)")}
    with pytest.raises(DataError) as caught:
        run_parallel(commands, _logs(tmp_path, commands), parallel=1, env=os.environ)
    message = str(caught.value)
    assert message.startswith("x failed (exit status 1): ...e") and len(message) < 400
