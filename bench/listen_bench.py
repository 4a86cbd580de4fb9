#!/usr/bin/env python3
"""spkid listen, measured as a smart speaker meets it.

Makes a conversation from a dev set (make_dev_sets.py layout: <set>/enroll/<spk>.wav and
<set>/test/<spk>/NN.wav): the test clips in a seeded order with pauses of 0.6-2 s, enrolls every
speaker in a fresh store, then

  latency  replays --latency-seconds of the conversation to `spkid listen -` in real time (20 ms of 16-bit PCM at a
           time, as a sound card delivers it) and times each JSON line from the moment the
           utterance's last sample was written (its "end", which holds 50 ms of padding, and the
           end of its speech, 50 ms earlier) to the moment the line arrived;
  rtf      sends --hours of the same talk as fast as the pipe takes it and divides the wall-clock
           and CPU time (user + system, of spkid listen) by the audio's length.

Needs python3-numpy and python3-soundfile. Nothing is written outside --work.

  bench/listen_bench.py build-release/apps/spkid/spkid /tmp/spkid-dev/dev-ar --work /tmp/listen-bench
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import soundfile as sf

RATE = 16000


def conversation(set_dir, seed, seconds=None):
    clips = []
    test_dir = os.path.join(set_dir, "test")
    for speaker in sorted(os.listdir(test_dir)):
        for name in sorted(os.listdir(os.path.join(test_dir, speaker))):
            clips.append((speaker, os.path.join(test_dir, speaker, name)))
    rng = random.Random(seed)
    parts, turns, at = [], [], 0.0
    while True:
        rng.shuffle(clips)
        for speaker, path in clips:
            audio, rate = sf.read(path, dtype="float32", always_2d=True)
            assert rate == RATE, f"{path}: {rate} Hz, expected {RATE}"
            pause = np.zeros(int(rng.uniform(0.6, 2.0) * RATE), dtype=np.float32)
            parts += [audio[:, 0], pause]
            turns.append((speaker, at, at + len(audio) / RATE))
            at += (len(audio) + len(pause)) / RATE
            if seconds is not None and at >= seconds:
                return np.concatenate(parts), turns
        if seconds is None:
            return np.concatenate(parts), turns


def pcm16(samples):
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def latency(spkid, store, talk, extra):
    env = dict(os.environ, SPKID_HOME=store)
    # A first run on no audio embeds the store's calibration windows (kept in the store), so the
    # timed run starts as a speaker that has been running does.
    subprocess.run([spkid, "-q", "listen", "-"], input=b"", env=env, check=True)
    proc = subprocess.Popen([spkid, "-q", "listen", "--json", "-"] + extra, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    arrivals = []

    def read():
        for line in proc.stdout:
            arrivals.append((time.monotonic(), json.loads(line)))

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(3)  # the model loads before the first sample is sent
    data, step = pcm16(talk), RATE // 50 * 2
    t0 = time.monotonic()
    for i in range(0, len(data), step):
        target = t0 + i / 2 / RATE
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        proc.stdin.write(data[i:i + step])
        proc.stdin.flush()
    proc.stdin.close()
    proc.wait()
    reader.join()
    return [(arrived - (t0 + line["end"]), line) for arrived, line in arrivals]


def rtf(spkid, store, talk, extra):
    """Wall and CPU seconds, peak memory (kB) and the lines of spkid listen on `talk`. GNU time
    measures the memory: a child forked from this process would count this process's pages."""
    env = dict(os.environ, SPKID_HOME=store)
    start = time.monotonic()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%e %U %S %M", spkid, "-q", "listen", "--json",
                             "-"] + extra, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    data = pcm16(talk)
    writer = threading.Thread(target=lambda: (proc.stdin.write(data), proc.stdin.close()))
    writer.start()
    lines = proc.stdout.read().decode().splitlines()
    measured = proc.stderr.read().decode().split()
    proc.wait()
    writer.join()
    wall = time.monotonic() - start
    cpu = float(measured[-3]) + float(measured[-2])
    return wall, cpu, int(measured[-1]), lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spkid")
    parser.add_argument("set_dir")
    parser.add_argument("--work", default="/tmp/spkid-listen-bench")
    parser.add_argument("--hours", type=float, default=1.0, help="audio for the real-time factor")
    parser.add_argument("--latency-seconds", type=float, default=180,
                        help="audio replayed in real time for the latency")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end-silence", type=float, help="passed to spkid listen")
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    store = os.path.join(args.work, "store")
    enroll_dir = os.path.join(args.set_dir, "enroll")
    files = [os.path.join(enroll_dir, f) for f in sorted(os.listdir(enroll_dir))]
    subprocess.run([args.spkid, "-q", "--store", store, "enroll"] + files, check=True,
                   stdout=subprocess.DEVNULL)

    extra = [] if args.end_silence is None else ["--end-silence", str(args.end_silence)]
    talk, turns = conversation(args.set_dir, args.seed, seconds=args.latency_seconds)
    results = latency(args.spkid, store, talk, extra)
    delays = sorted(d for d, _ in results)
    named = sum(1 for _, line in results if line.get("known"))
    print(f"latency: {len(turns)} turns ({len(talk) / RATE:.0f} s) gave {len(results)} lines, "
          f"{named} named; from the reported end: median {np.median(delays) * 1000:.0f} ms, "
          f"90th percentile {np.percentile(delays, 90) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms (from the end of speech: +50 ms)")

    long_talk, _ = conversation(args.set_dir, args.seed, seconds=args.hours * 3600)
    wall, cpu, maxrss_kb, lines = rtf(args.spkid, store, long_talk, extra)
    seconds = len(long_talk) / RATE
    print(f"rtf: {seconds / 3600:.2f} h of audio, {len(lines)} lines in {wall:.1f} s: "
          f"real-time factor {wall / seconds:.4f} (wall), {cpu / seconds:.4f} (CPU); "
          f"peak memory {maxrss_kb / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
