"""Kills a training run with SIGKILL at random moments, resumes it each time,
and checks that it ends on the same bytes as a run that was never killed.

usage: kill-and-resume.py WORKDIR SEED ATTEMPTS MIN_KILLS -- TRAIN_COMMAND...

TRAIN_COMMAND is a complete `megalodon-run train ...` command line without
--out; the script adds `--out` (and `--resume` once a checkpoint exists).
A second straight run times the command; each of ATTEMPTS killed runs then
gets SIGKILL after a delay drawn uniformly from [0, 0.7 x that time) with a
seeded generator, wherever the run happens to be: loading, stepping,
validating or inside a checkpoint write. After the attempts, the run is
resumed to the end. Fails unless at least MIN_KILLS kills hit a live process
and the final checkpoint's files equal the straight run's.
"""

import os
import random
import signal
import subprocess
import sys
import time


def run_to_end(command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def main():
    separator = sys.argv.index("--")
    workdir, seed, attempts, min_kills = sys.argv[1:separator]
    train = sys.argv[separator + 1:]
    attempts, min_kills = int(attempts), int(min_kills)
    rng = random.Random(int(seed))

    # The straight run also fills the artifact cache, so that the timed
    # second run, like the killed ones, measures training and not compiling.
    straight = os.path.join(workdir, "straight")
    run_to_end(train + ["--out", straight])
    begin = time.monotonic()
    run_to_end(train + ["--out", os.path.join(workdir, "timed")])
    duration = time.monotonic() - begin

    killed = os.path.join(workdir, "killed")
    latest = os.path.join(killed, "latest")

    def command():
        resume = ["--resume", killed] if os.path.exists(latest) else []
        return train + ["--out", killed] + resume

    kills = 0
    for _ in range(attempts):
        process = subprocess.Popen(command(), stdout=subprocess.DEVNULL)
        delay = rng.uniform(0.0, 0.7 * duration)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            step = os.path.basename(os.path.realpath(latest)) \
                if os.path.exists(latest) else "none"
            print(f"killed after {delay:.3f} s; latest checkpoint: {step}")
            continue
        if process.returncode != 0:
            sys.exit(f"a run exited with {process.returncode} before its kill")
    run_to_end(command())

    if kills < min_kills:
        sys.exit(f"only {kills} of {attempts} kills hit a running process "
                 f"(need {min_kills}); the straight run took {duration:.2f} s")
    for name in ("model.safetensors", "optimizer.safetensors", "trainer.json"):
        with open(os.path.join(straight, "latest", name), "rb") as a, \
                open(os.path.join(latest, name), "rb") as b:
            if a.read() != b.read():
                sys.exit(f"{name} differs after {kills} kills")
    print(f"identical to the straight run after {kills} kills")


if __name__ == "__main__":
    main()
