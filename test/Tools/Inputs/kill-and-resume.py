"""Kills a training run with SIGKILL at random moments, resumes it each time,
and checks that it ends on the same bytes as a run that was never killed.

usage: kill-and-resume.py WORKDIR SEED KILLS -- TRAIN_COMMAND...

TRAIN_COMMAND is a complete `megalodon-run train ...` command line without
--out and without --quiet (the script follows its "step N/M" lines); the
script adds `--out` (and `--resume` once a checkpoint exists). Each of the
KILLS killed runs draws, with a seeded generator, a step after the latest
checkpoint (spread over what is left of the run) and a delay of up to 30
ms; once the run reports that step, it gets SIGKILL after the delay,
wherever it then is: inside the next step, a validation or a checkpoint
write. One kill in four instead lands within 0.3 s of the start, while the
run loads or in its first steps. Progress rather than wall time decides
when, so the kills land the same way on a loaded machine. The run is then
resumed to the end and its final checkpoint compared with the straight
run's.
"""

import os
import random
import re
import signal
import subprocess
import sys
import time

STEP = re.compile(r"step (\d+)/(\d+) ")


def latest_step(latest):
    if not os.path.exists(latest):
        return 0
    return int(os.path.basename(os.path.realpath(latest)).split("-")[1])


def main():
    separator = sys.argv.index("--")
    workdir, seed, kills = sys.argv[1:separator]
    train = sys.argv[separator + 1:]
    rng = random.Random(int(seed))

    straight = os.path.join(workdir, "straight")
    subprocess.run(train + ["--out", straight], check=True,
                   stdout=subprocess.DEVNULL)
    total = None

    killed = os.path.join(workdir, "killed")
    latest = os.path.join(killed, "latest")

    def command():
        resume = ["--resume", killed] if os.path.exists(latest) else []
        return train + ["--out", killed] + resume

    landed = 0
    for attempt in range(int(kills)):
        start = latest_step(latest)
        left = int(kills) - attempt
        process = subprocess.Popen(command(), stdout=subprocess.PIPE,
                                   text=True, bufsize=1)
        during_load = rng.random() < 0.25
        delay = rng.uniform(0.0, 0.3 if during_load else 0.03)
        target = None
        if during_load:
            time.sleep(delay)
        else:
            for line in process.stdout:
                match = STEP.match(line)
                if not match:
                    continue
                step, total = int(match.group(1)), int(match.group(2))
                if target is None:
                    # Spread the kills over what is left of the run.
                    reach = max(1, (total - 1 - start) // left)
                    target = start + rng.randint(1, reach)
                if step >= target:
                    time.sleep(delay)
                    break
        alive = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.stdout.close()
        process.wait()
        if alive:
            landed += 1
            where = (f"{delay * 1000:.0f} ms after the start" if during_load
                     else f"{delay * 1000:.0f} ms after step {target}")
            print(f"killed {where}; latest checkpoint: step "
                  f"{latest_step(latest)}")
    subprocess.run(command(), check=True, stdout=subprocess.DEVNULL)

    if landed < int(kills) // 2:
        sys.exit(f"only {landed} of {kills} kills hit a running process")
    for name in ("model.safetensors", "optimizer.safetensors", "trainer.json"):
        with open(os.path.join(straight, "latest", name), "rb") as a, \
                open(os.path.join(latest, name), "rb") as b:
            if a.read() != b.read():
                sys.exit(f"{name} differs after {landed} kills")
    print(f"identical to the straight run after {landed} kills")


if __name__ == "__main__":
    main()
