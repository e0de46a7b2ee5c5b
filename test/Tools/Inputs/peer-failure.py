"""Makes one process of a multi-process training job fail, and checks that
the job ends instead of hanging.

usage: peer-failure.py kill|stop SECONDS -- mpirun ... megalodon-run train ...

Starts the command, waits for rank 0's progress line of step 2, then sends
rank 1 SIGKILL (a crash) or SIGSTOP (a hang the launcher cannot see). The
whole job must end within SECONDS with a non-zero status. Prints one summary
line and the job's output lines that explain the end, for FileCheck.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid


def rank_process(tag, rank):
    """The pid of the job's process with MPI rank `rank`, or None."""
    wanted = [f"MEGALODON_PEER_FAILURE_TAG={tag}".encode(),
              f"OMPI_COMM_WORLD_RANK={rank}".encode()]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"megalodon-run" in cmdline and all(w in environ for w in wanted):
            return int(entry)
    return None


def main():
    mode, limit = sys.argv[1], float(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1:]
    tag = uuid.uuid4().hex
    env = dict(os.environ, MEGALODON_PEER_FAILURE_TAG=tag)
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    lines = []
    reached = threading.Event()

    def read():
        for line in job.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("step 2/"):
                reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    victim = None
    try:
        if not reached.wait(600):
            print("the job never reached step 2:\n" + "\n".join(lines))
            return 1
        victim = rank_process(tag, 1)
        if victim is None:
            print("rank 1 not found")
            return 1
        os.kill(victim, signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
        start = time.monotonic()
        try:
            status = job.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            print(f"HANG: the job still runs {limit:.0f} s after rank 1 was "
                  f"{'killed' if mode == 'kill' else 'stopped'}")
            return 1
        elapsed = time.monotonic() - start
        reader.join(10)
        verdict = "non-zero" if status != 0 else "zero"
        print(f"rank 1 {'killed' if mode == 'kill' else 'stopped'}; the job "
              f"ended with a {verdict} status within {limit:.0f} s "
              f"({elapsed:.0f} s)")
        for line in lines:
            if "timed out" in line or "exited on signal" in line or \
                    "error" in line.lower():
                print(line.strip())
        # No process of the job may be left behind.
        time.sleep(1)
        if rank_process(tag, 0) or rank_process(tag, 1):
            print("a process of the job is still alive")
            return 1
        return 0
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
        if victim is not None:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    sys.exit(main())
