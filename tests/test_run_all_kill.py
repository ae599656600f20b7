"""A killed run_all.sh leaves nothing behind: the notebook runner gets the parent-death signal, so a kill -9 of the
script ends the notebook run too (its kernel follows the runner; worker pools end within IDLE_WORKER_S)."""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_run_all_wraps_the_notebook_runner_in_the_parent_death_guard():
    text = (ROOT / "run_all.sh").read_text()
    assert re.search(r'guard=\(setpriv --pdeathsig KILL --\)', text)
    assert re.search(r'\n    \$\{guard\[@\]\+"\$\{guard\[@\]\}"\} "\$PY" -m soilnb.core.runner [^\n]*\\\n[^\n]*'
                     r'< "\$runner_dir/requests" > "\$runner_dir/replies" 2> "\$out/runner.log" &\n', text)
    assert "coproc" not in text                        # bash 3.2 (macOS) has none
    assert "-m papermill" not in text


def _gone(pid: int) -> bool:
    """No such process, or a zombie (killed, its new parent not yet done reaping it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed")
@pytest.mark.parametrize("launch", ["background", "pipes"])
def test_the_guard_ends_the_child_when_the_script_is_killed(tmp_path, launch):
    """The same guard around a child of a bash script (in the background, or as run_all.sh starts its runner: in
    the background reading and answering through named pipes): kill -9 of the script, and the child is gone."""
    pidfile = tmp_path / "child.pid"
    child_cmd = f"setpriv --pdeathsig KILL -- bash -c 'echo $$ > {pidfile}; exec sleep 60'"
    req, rep = tmp_path / "requests", tmp_path / "replies"
    script = (f"{child_cmd} & wait" if launch == "background" else
              f"mkfifo {req} {rep}\n{child_cmd} < {req} > {rep} 2> /dev/null &\nexec 7> {req} 8< {rep}\nsleep 60")
    parent = subprocess.Popen(["bash", "-c", script])
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    child = int(pidfile.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(100):                     # the signal is delivered at once; allow the scheduler its time
        if _gone(child):
            break
        time.sleep(0.05)
    assert _gone(child)
